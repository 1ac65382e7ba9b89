import * as z from 'zod';
import { LIMITS } from '../limits.ts';

const target = z.string().min(1).max(64);

export const sessionDescriptionSchema = z.object({
  type: z.enum(['offer', 'answer', 'pranswer', 'rollback']),
  sdp: z.string().max(LIMITS.sdp).optional(),
});

export const iceCandidateSchema = z.object({
  candidate: z.string().max(LIMITS.candidate),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional(),
});

/** Client → server: an SDP offer for one peer. `from` is never accepted from the client. */
export const offerRequestSchema = z.object({
  to: target,
  description: sessionDescriptionSchema.extend({ type: z.literal('offer') }),
});
export const answerRequestSchema = z.object({
  to: target,
  description: sessionDescriptionSchema.extend({ type: z.literal('answer') }),
});
export const candidateRequestSchema = z.object({
  to: target,
  /** `null` signals end-of-candidates. */
  candidate: iceCandidateSchema.nullable(),
});
export type OfferRequest = z.infer<typeof offerRequestSchema>;
export type AnswerRequest = z.infer<typeof answerRequestSchema>;
export type CandidateRequest = z.infer<typeof candidateRequestSchema>;

/** Server → client: the relayed message, with `from` set by the server. */
export type OfferRelay = { from: string; description: OfferRequest['description'] };
export type AnswerRelay = { from: string; description: AnswerRequest['description'] };
export type CandidateRelay = { from: string; candidate: CandidateRequest['candidate'] };
export const offerRelaySchema = offerRequestSchema.omit({ to: true }).extend({ from: target });
export const answerRelaySchema = answerRequestSchema.omit({ to: true }).extend({ from: target });
export const candidateRelaySchema = candidateRequestSchema.omit({ to: true }).extend({ from: target });
