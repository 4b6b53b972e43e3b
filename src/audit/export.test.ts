import { describe, expect, it } from "vitest";
import type { AuditEvent } from "../domain/types.js";
import { AUDIT_CODES, type AuditCode } from "./codes.js";
import { jsonlRecord, ocsfRecord } from "./export.js";

function event(code: AuditCode, outcome: AuditEvent["outcome"] = "success"): AuditEvent {
  return {
    seq: 7,
    id: "evt_1",
    time: Date.UTC(2026, 0, 1),
    code,
    severity: AUDIT_CODES[code].severity,
    outcome,
    actor: { type: "identity", id: "ci-deploy" },
    requestId: "req_1",
    grantId: "grt_1",
    identityId: "ci-deploy",
    data: { entitlement: "db/read" },
    prevHash: "0".repeat(64),
    hash: "1".repeat(64),
  };
}

describe("OCSF export", () => {
  it("maps every audit code to Account Change or API Activity with a defined activity, severity and status", () => {
    for (const code of Object.keys(AUDIT_CODES) as AuditCode[]) {
      const r = ocsfRecord(event(code), "1.0.0");
      expect([3001, 6003], code).toContain(r.class_uid);
      expect(r.category_uid, code).toBe(r.class_uid === 3001 ? 3 : 6);
      expect(r.activity_name, code).toEqual(expect.any(String));
      expect(r.type_uid, code).toBe((r.class_uid as number) * 100 + (r.activity_id as number));
      expect([1, 2, 3, 4], code).toContain(r.severity_id);
      expect(r.message, code).toBe(AUDIT_CODES[code].meaning);
      expect(r.class_uid === 3001 ? r.user : r.api, code).toBeDefined();
    }
  });

  it("maps outcome to status and keeps what OCSF has no field for", () => {
    expect(ocsfRecord(event("request.denied", "denied"), "1").status_id).toBe(2);
    expect(ocsfRecord(event("grant.revoke_failed", "failure"), "1")).toMatchObject({ status_id: 2, severity_id: 4 });
    const r = ocsfRecord(event("grant.revoked"), "1");
    expect(r).toMatchObject({ class_uid: 3001, activity_id: 6, unmapped: { data: { entitlement: "db/read" } } });
    const system = ocsfRecord({ ...event("token.key_created"), actor: { type: "system", id: "token" } }, "1");
    expect(system.actor).toEqual({ app_name: "ephemera/token" });
  });

  it("jsonl keeps the event as hashed, with its hashes", () => {
    const e = event("grant.issued");
    expect(jsonlRecord(e)).toMatchObject({ seq: 7, timeMs: e.time, prevHash: e.prevHash, hash: e.hash, data: e.data });
  });
});
