import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS, PRODUCT_MODELS, SETTINGS, TELEMETRY, type FieldSchema } from "../../src/device/schema";

/** Reads a DTDL schema back into the type names the schema module uses (independently of the generator). */
function typeOf(schema: unknown): string {
  if (typeof schema === "string") return schema;
  const s = schema as { "@type": string; enumValues?: { enumValue: string }[]; elementSchema?: string };
  if (s["@type"] === "Enum") return `enum(${s.enumValues!.map((v) => v.enumValue).join(",")})`;
  if (s["@type"] === "Array") return `array(${s.elementSchema})`;
  throw new Error(`unexpected DTDL schema ${JSON.stringify(schema)}`);
}

function expected(field: FieldSchema): string {
  if (field.type === "enum") return `enum(${field.values.join(",")})`;
  if (field.type === "integerArray") return "array(integer)";
  return field.type;
}

type Content = { "@type": string; name: string; schema?: unknown; writable?: boolean; request?: { schema: { fields: { name: string; schema: unknown }[] } } };

describe("IoT Plug and Play models (models/*.json) agree with src/device/schema.ts", () => {
  for (const [profile, file] of [["box", "kisbox.json"], ["light", "kislight.json"]] as const) {
    const model = PRODUCT_MODELS[profile];
    const dtdl = JSON.parse(readFileSync(join(__dirname, "../../../models", file), "utf8")) as { "@id": string; contents: Content[] };
    const of = (type: string) => dtdl.contents.filter((c) => c["@type"] === type);

    it(`${file}: model id and the set of telemetry, properties and commands`, () => {
      assert.equal(dtdl["@id"], model.modelId);
      assert.deepEqual(of("Telemetry").map((c) => c.name).sort(), [...model.telemetry].sort());
      assert.deepEqual(of("Property").map((c) => c.name).sort(), [...model.settings].sort());
      assert.deepEqual(of("Command").map((c) => c.name).sort(), [...model.commands].sort());
    });

    it(`${file}: every field and type`, () => {
      for (const t of of("Telemetry")) {
        const fields = (t.schema as { fields: { name: string; schema: unknown }[] }).fields;
        assert.deepEqual(
          Object.fromEntries(fields.map((f) => [f.name, typeOf(f.schema)])),
          Object.fromEntries(Object.entries(TELEMETRY[t.name]!.fields).map(([k, f]) => [k, expected(f)])),
          t.name,
        );
      }
      for (const p of of("Property")) {
        assert.equal(p.writable, true, p.name);
        assert.equal(typeOf(p.schema), expected(SETTINGS[p.name]!), p.name);
      }
      for (const c of of("Command")) {
        const fields = c.request?.schema.fields ?? [];
        assert.deepEqual(
          Object.fromEntries(fields.map((f) => [f.name, typeOf(f.schema)])),
          Object.fromEntries(Object.entries(COMMANDS[c.name]!.fields).map(([k, f]) => [k, expected(f)])),
          c.name,
        );
      }
    });
  }
});
