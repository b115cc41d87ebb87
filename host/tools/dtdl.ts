/**
 * Writes the IoT Plug and Play models (DTDL v3) of the KIS.BOX and KIS.LIGHT from the schema module:
 *   npm run build && node build/host/tools/dtdl.js
 * A test checks that the committed models/ agree with src/device/schema.ts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { COMMANDS, PRODUCT_MODELS, SETTINGS, TELEMETRY, type FieldSchema, type MessageSchema, type ProfileName } from "../../src/device/schema";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function dtdlSchema(field: FieldSchema): Json {
  switch (field.type) {
    case "integer":
      return "integer";
    case "double":
      return "double";
    case "boolean":
      return "boolean";
    case "dateTime":
      return "dateTime";
    case "string":
      return "string";
    case "enum":
      return { "@type": "Enum", valueSchema: "string", enumValues: field.values.map((v) => ({ name: v, enumValue: v })) };
    case "integerArray":
      return { "@type": "Array", elementSchema: "integer" };
  }
}

function objectSchema(message: MessageSchema): Json {
  return { "@type": "Object", fields: Object.entries(message.fields).map(([name, f]) => ({ name, schema: dtdlSchema(f) })) };
}

export function dtdlModel(profile: ProfileName): Json {
  const model = PRODUCT_MODELS[profile];
  const contents: Json[] = [
    ...model.telemetry.map((name) => ({ "@type": "Telemetry", name, schema: objectSchema(TELEMETRY[name]!) })),
    ...model.settings.map((name) => ({ "@type": "Property", name, schema: dtdlSchema(SETTINGS[name]!), writable: true })),
    ...model.commands.map((name) => ({
      "@type": "Command",
      name,
      ...(Object.keys(COMMANDS[name]!.fields).length > 0 ? { request: { name: "arguments", schema: objectSchema(COMMANDS[name]!) } } : {}),
    })),
  ];
  return { "@context": "dtmi:dtdl:context;3", "@id": model.modelId, "@type": "Interface", displayName: model.displayName, contents };
}

if (require.main === module) {
  const dir = join(__dirname, "../../../models");
  for (const profile of ["box", "light"] as const) {
    const file = join(dir, `${profile === "box" ? "kisbox" : "kislight"}.json`);
    writeFileSync(file, JSON.stringify(dtdlModel(profile), null, 2) + "\n");
    process.stdout.write(`wrote ${file}\n`);
  }
}
