import { describe, expect, it } from "vitest";
import { inBuildContext, parseDockerfile } from "../helpers/addon-files.js";
import {
  isManifestPath,
  manifestProblems,
  optionProblems,
  parseElement,
  schemaShapeProblems,
  validateValue,
} from "../helpers/addon-supervisor.js";

// The add-on checks are only as good as these rules, so they are specified here on small inputs of our own.

const minimal = { name: "X", version: "1.0.0", slug: "x", description: "d", arch: ["amd64"] };

describe("Supervisor option rules", () => {
  it("parses every rule form with its bounds and the optional mark", () => {
    expect(parseElement("str")).toEqual({ kind: "str", optional: false });
    expect(parseElement("str(1,)?")).toEqual({ kind: "str", min: 1, optional: true });
    expect(parseElement("password(,64)")).toEqual({ kind: "password", max: 64, optional: false });
    expect(parseElement("int(0,10)")).toEqual({ kind: "int", min: 0, max: 10, optional: false });
    expect(parseElement("float(0.5,2.5)")).toEqual({ kind: "float", min: 0.5, max: 2.5, optional: false });
    expect(parseElement("list(a|b)?")).toEqual({ kind: "list", choices: ["a", "b"], optional: true });
    expect(parseElement("match(^x+$)")).toEqual({ kind: "match", pattern: "^x+$", optional: false });
    expect(parseElement("device(subsystem=tty)")).toEqual({
      kind: "device",
      filter: "subsystem=tty",
      optional: false,
    });
    expect(parseElement("port?")).toEqual({ kind: "port", optional: true });
  });

  it("refuses rules the Supervisor does not know, negative or fractional integer bounds among them", () => {
    for (const rule of [
      "string",
      "int(-1,5)",
      "int(1.5,)",
      "str(a,b)",
      "list()",
      "bool??",
      "integer",
      "url(x)",
    ]) {
      expect(parseElement(rule), rule).toBeUndefined();
    }
  });

  it("coerces values the way the Supervisor does and reports what is wrong", () => {
    const rule = (text: string) => {
      const element = parseElement(text);
      if (element === undefined) throw new Error(`bad rule ${text}`);
      return element;
    };
    expect(validateValue(rule("int(1,10)"), "7")).toBeUndefined();
    expect(validateValue(rule("int(1,10)"), 11)).toMatch(/above 10/);
    expect(validateValue(rule("int"), 1.5)).toMatch(/integer/);
    expect(validateValue(rule("bool"), "on")).toBeUndefined();
    expect(validateValue(rule("bool"), "maybe")).toMatch(/boolean/);
    expect(validateValue(rule("port"), 0)).toMatch(/below 1/);
    expect(validateValue(rule("str(2,)"), "a")).toMatch(/length 1 is below 2/);
    expect(validateValue(rule("url"), "core-mosquitto:1883")).toMatch(/URL/);
    expect(validateValue(rule("url"), "mqtt://core-mosquitto:1883")).toBeUndefined();
    expect(validateValue(rule("list(a|b)"), "c")).toMatch(/one of a, b/);
    expect(validateValue(rule("match(\\d+)"), "12x")).toBeUndefined();
    expect(validateValue(rule("match(\\d+$)"), "12x")).toMatch(/does not match/);
  });

  it("accepts only the nesting validate.py accepts", () => {
    expect(
      schemaShapeProblems({
        a: "str",
        b: ["int"],
        c: [{ d: "str", e: ["str?"] }],
        f: { g: "bool", h: ["str"] },
      }),
    ).toEqual([]);
    expect(schemaShapeProblems({ f: { g: { h: "str" } } })).toEqual([
      "f.g: nested too deep for the Supervisor (only rules here)",
    ]);
    expect(schemaShapeProblems({ f: { g: [{ h: "str" }] } })).toEqual([
      "f.g[]: nested too deep for the Supervisor (only rules here)",
    ]);
    expect(schemaShapeProblems({ a: ["str", "int"] })).toEqual(["a: a list rule holds exactly one element"]);
    expect(schemaShapeProblems({ a: "text" })).toEqual(['a: "text" is not a Supervisor option rule']);
  });

  it("finds invalid defaults, unknown options and missing required ones, but not missing optional ones", () => {
    const schema = { a: "int(1,5)", b: "str?", c: ["str?"], d: { e: "bool", f: "url?" }, g: [{ h: "str" }] };
    expect(optionProblems(schema, { a: 3, d: { e: true }, g: [] })).toEqual([]);
    expect(optionProblems(schema, { a: 9, x: 1, d: { e: "nope" }, g: [{}] })).toEqual([
      "a: value 9 is above 5",
      "x: does not exist in the schema",
      "d.e: expected a boolean",
      "g.0.h: missing required option",
    ]);
    expect(optionProblems(schema, {})).toEqual([
      "a: missing required option",
      "d: missing required option",
      "g: missing required option",
    ]);
  });
});

describe("Supervisor manifest rules", () => {
  it("accept a minimal manifest", () => {
    expect(manifestProblems(minimal)).toEqual([]);
  });

  it("report keys equal to their defaults, obsolete keys and unsupported architectures", () => {
    expect(
      manifestProblems({
        ...minimal,
        arch: ["amd64", "armv7"],
        init: true,
        startup: "application",
        options: {},
        watchdog: "x",
      }),
    ).toEqual([
      "arch: armv7 is not supported",
      "init: equals its default (true); leave it out",
      'startup: equals its default ("application"); leave it out',
      "options: equals its default ({}); leave it out",
      "watchdog: obsolete, remove it",
    ]);
  });

  it("report bad slugs, port keys, services, timeouts and tagged images", () => {
    expect(
      manifestProblems({
        ...minimal,
        slug: "my bridge",
        ports: { "3001/TCP": 3001, "80/tcp": 70000 },
        ports_description: { "81/tcp": "x" },
        services: ["mqtt:use"],
        timeout: 5,
        image: "ghcr.io/x/y:1.0",
      }),
    ).toEqual([
      "slug: only letters, digits, '-', '_' and '.'",
      "timeout: must be an integer from 10 to 300",
      'ports: "3001/TCP" is not PORT/tcp or PORT/udp',
      "ports.80/tcp: host port must be 1-65535 or null",
      "ports_description: 81/tcp is not in ports",
      "services: mqtt:use is not service:right",
      "image: must not carry a tag",
    ]);
  });

  it("treat config.* as a manifest except under dot folders and rootfs", () => {
    expect(isManifestPath("config.yaml")).toBe(true);
    expect(isManifestPath("test/fixtures/config.json")).toBe(true);
    expect(isManifestPath("addon/config.yml")).toBe(true);
    expect(isManifestPath(".github/config.yaml")).toBe(false);
    expect(isManifestPath("addon/rootfs/etc/config.yaml")).toBe(false);
    expect(isManifestPath("tsconfig.json")).toBe(false);
  });
});

describe("Dockerfile reading", () => {
  it("joins continuation lines, skips comments and assigns stages", () => {
    const { instructions, stages } = parseDockerfile(
      "ARG A=1\n# c\nFROM x AS b\nRUN a \\\n  # inner comment\n  && b\nFROM y\nCOPY --from=b /s /d\n",
    );
    expect(instructions.map((i) => [i.keyword, i.args, i.stage])).toEqual([
      ["ARG", "A=1", -1],
      ["FROM", "x AS b", 0],
      ["RUN", "a && b", 0],
      ["FROM", "y", 1],
      ["COPY", "--from=b /s /d", 1],
    ]);
    expect(stages.map((s) => [s.name, s.from])).toEqual([
      ["b", "x"],
      [undefined, "y"],
    ]);
  });

  it("applies .dockerignore patterns with directories, globs and re-inclusion", () => {
    const ignore = "node_modules\n**/*.test.ts\ndocs\n!docs/keep.md\n";
    expect(inBuildContext("src/cli.ts", ignore)).toBe(true);
    expect(inBuildContext("node_modules/ws/index.js", ignore)).toBe(false);
    expect(inBuildContext("src/a/b.test.ts", ignore)).toBe(false);
    expect(inBuildContext("docs/x.md", ignore)).toBe(false);
    expect(inBuildContext("docs/keep.md", ignore)).toBe(true);
  });
});
