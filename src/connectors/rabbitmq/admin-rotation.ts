// How the broker's RabbitMQ admin password is rotated: PUT the user with the new password (same tags), checked by whoami.
import { Secret } from "../../support/index.js";
import type { RotationSteps } from "../support/admin-secret.js";
import { apiPath, type ManagementApi } from "./management-api.js";

/** A user's tags as the management API reports them: a list since 3.9, a comma-separated string before. */
export function tagsOf(user: unknown): string[] {
  const tags = user !== null && typeof user === "object" ? (user as { tags?: unknown }).tags : undefined;
  if (Array.isArray(tags)) return tags.filter((t): t is string => typeof t === "string" && t.length > 0);
  if (typeof tags === "string") return tags.split(",").filter((t) => t.length > 0);
  return [];
}

/**
 * The RabbitMQ steps for AdminSecret: `works` is `GET /api/whoami` as the admin (200 yes, 401 no, else an error);
 * `apply` rewrites the admin user with the new password and the tags it had, so it stays an administrator. RabbitMQ
 * keeps one password per user, so the old one stops working at once and no `retire` step is needed. User limits are
 * stored apart from the user and survive the PUT (measured on 3.10).
 */
export function rotationSteps(api: ManagementApi, username: string): RotationSteps {
  const userPath = apiPath`/users/${username}`;
  const whoami = apiPath`/whoami`;
  return {
    async works(secret) {
      const response = await api.request({ username, password: new Secret(secret) }, "GET", whoami);
      if (response.status === 200) return true;
      if (response.status === 401) return false;
      throw api.unexpected("GET", whoami, response);
    },
    async apply(next, current) {
      const login = { username, password: new Secret(current) };
      const got = await api.request(login, "GET", userPath);
      if (got.status !== 200) throw api.unexpected("GET", userPath, got);
      const body = { password: next, tags: tagsOf(got.body).join(",") };
      const put = await api.request(login, "PUT", userPath, { body, secrets: [next, current] });
      if (put.status !== 204 && put.status !== 201) throw api.unexpected("PUT", userPath, put, [next, current]);
    },
  };
}
