import { z } from 'zod';

export const PUBLISH_SOURCES = ['audio', 'video', 'screen'] as const;
export type PublishSource = (typeof PUBLISH_SOURCES)[number];

/**
 * What a token allows. `publish` is true (all sources), false, or the list of sources allowed.
 * Missing grants are false, except `join`, `subscribe`, `chat` and `data`, which default to true so a
 * minimal `{room}` token gives an ordinary participant.
 */
export const grantsSchema = z.strictObject({
  join: z.boolean().default(true),
  publish: z.union([z.boolean(), z.array(z.enum(PUBLISH_SOURCES)).max(3)]).default(true),
  subscribe: z.boolean().default(true),
  chat: z.boolean().default(true),
  data: z.boolean().default(true),
  upload: z.boolean().default(false),
  record: z.boolean().default(false),
  admin: z.boolean().default(false),
});
export type Grants = z.infer<typeof grantsSchema>;
export type GrantName = keyof Grants;

/** Everything allowed: what open mode (no secret configured) gives every client. */
export const ALL_GRANTS: Grants = {
  join: true,
  publish: true,
  subscribe: true,
  chat: true,
  data: true,
  upload: true,
  record: true,
  admin: true,
};

export function canPublish(grants: Grants, source?: PublishSource): boolean {
  if (typeof grants.publish === 'boolean') return grants.publish;
  return source === undefined ? grants.publish.length > 0 : grants.publish.includes(source);
}
