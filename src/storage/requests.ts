// The requests port: access requests and their approvals, read by id, by filter and by deadline.
import type { AccessRequest, Millis, RequestState } from "../domain/index.js";

export interface RequestFilter {
  readonly states?: readonly RequestState[];
  readonly identityId?: string;
  /** Page after this request id (ids sort by creation). */
  readonly after?: string;
  readonly limit: number;
}

export interface RequestStore {
  getRequest(id: string): Promise<AccessRequest | null>;
  listRequests(filter: RequestFilter): Promise<readonly AccessRequest[]>;
  /** Requests whose `dueAt` has passed (timeouts, review deadlines), earliest first, through the due index. */
  dueRequests(now: Millis, limit: number): Promise<readonly AccessRequest[]>;
  /** Break-glass requests whose review is not recorded and whose deadline has passed. */
  countOverdueReviews(now: Millis): Promise<number>;
}
