import * as z from 'zod';

/** The media sources a `publish` grant may list. */
export const MEDIA_KINDS = ['audio', 'video', 'screen'] as const;

/**
 * A member's grants as the server enforces them, every grant present: in the join result, in
 * `grants_changed`, and in the server API's member views. `publish` is true (every source),
 * false, or the sources allowed.
 */
export const memberGrantsSchema = z.object({
  join: z.boolean(),
  publish: z.union([z.boolean(), z.array(z.enum(MEDIA_KINDS))]),
  subscribe: z.boolean(),
  chat: z.boolean(),
  /** Send app data (`room.sendData`) on the data channels; absent in grants from older servers (then true). */
  data: z.boolean().default(true),
  upload: z.boolean(),
  record: z.boolean(),
  admin: z.boolean(),
});
export type MemberGrants = z.infer<typeof memberGrantsSchema>;
