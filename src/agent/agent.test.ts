import { describe, expect, it } from "vitest";
import { workloadEnvironment } from "./agent.js";

describe("the supervised command's environment", () => {
  it("keeps the caller's variables but nothing of the broker's nor the auth source's", () => {
    const env = workloadEnvironment(
      {
        PATH: "/usr/bin",
        APP_MODE: "prod",
        EPHEMERA_URL: "http://127.0.0.1:8720",
        EPHEMERA_TOKEN: "x",
        SOME_KEY: `ephk_${"a".repeat(20)}_${"B".repeat(43)}`,
        ID_TOKEN: "eyJ.a.b",
        UNSET: undefined,
      },
      { variables: ["ID_TOKEN"] },
    );
    expect(env).toEqual({ PATH: "/usr/bin", APP_MODE: "prod" });
  });
});
