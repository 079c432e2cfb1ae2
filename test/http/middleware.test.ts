import { describe, expect, it } from "vitest";
import { isJsonMediaType } from "../../src/http/middleware";
import { api, uniqueSubject } from "../helpers/api";

// Hostile Content-Type values: JSON-looking types that are not JSON (text/x+json, an empty
// +json prefix), and the cases and parameters clients legitimately send.
const MEDIA_TYPES: [string, boolean][] = [
  ["application/json", true],
  ["application/json; charset=utf-8", true],
  ["APPLICATION/JSON;CHARSET=UTF-8", true],
  ["application/merge-patch+json", true],
  ["application/vnd.api+json", true],
  ["text/json", false],
  ["text/x+json", false],
  ["application/+json", false],
  ["application/json+xml", false],
  ["application/jsonx", false],
  ["application/x-www-form-urlencoded", false],
  ["multipart/form-data", false],
  ["json", false],
  ["", false],
];

describe("isJsonMediaType", () => {
  it.each(MEDIA_TYPES)("%j → %s", (type, json) => {
    expect(isJsonMediaType(type)).toBe(json);
  });
});

describe("Content-Type of write requests", () => {
  it.each(MEDIA_TYPES)("POST /v1/usage with %j: JSON is taken, anything else is 415", async (type, json) => {
    const subjectId = uniqueSubject("ctype");
    const res = await api("POST", "/v1/usage", { body: { subjectId, meter: "fax" }, headers: { "content-type": type } });
    if (json) {
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    } else {
      expect(res.status, JSON.stringify(res.body)).toBe(415);
      expect(res.body.error.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
  });
});
