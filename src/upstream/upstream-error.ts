/**
 * Why a message could not be delivered to the daemon.
 * - `unreachable`: nothing answered (daemon down or restarting); the session must be rebuilt.
 * - `session-lost`: the daemon no longer knows our session (404, event stream gone); re-initialize.
 * - `rejected`: the daemon answered but refused this one message (4xx/5xx); the session is fine.
 *
 * `delivered` is false only when the daemon certainly never processed the message (connection refused,
 * session unknown): such a message may be sent again on a new session without running twice.
 */
export type UpstreamErrorKind = "unreachable" | "session-lost" | "rejected";

export class UpstreamError extends Error {
  override name = "UpstreamError";
  readonly status: number | undefined;
  readonly delivered: boolean;
  constructor(
    message: string,
    readonly kind: UpstreamErrorKind,
    details: { status?: number; delivered?: boolean } = {},
  ) {
    super(message);
    this.status = details.status;
    this.delivered = details.delivered ?? true;
  }
}

export const needsNewSession = (error: unknown): boolean => error instanceof UpstreamError && error.kind !== "rejected";
