import assert from "../support/assert";
import { COMMANDS, PRODUCT_MODELS, SETTINGS, SchemaError, TELEMETRY, checkMessage, checkTelemetry, fieldProblem, telemetryBody } from "../../src/device/schema";
import { LED_COLORS } from "../../src/device/colors";

const TS = "2026-11-26T12:00:00.000Z";

describe("schema", () => {
  it("wraps a valid event in its Plug and Play body", () => {
    assert.deepEqual(telemetryBody("Button_pressed", { button: 2, gesture: "long", ts: TS }), { Button_pressed: { button: 2, gesture: "long", ts: TS } });
  });

  it("refuses an undeclared event, an undeclared field, a missing field and a bad value", () => {
    assert.throws(() => telemetryBody("Debug_dump", { ts: TS }), /not declared/);
    assert.throws(() => telemetryBody("Button_pressed", { button: 2, gesture: "short", ts: TS, ssid: "Halle" }), /unknown field "ssid"/);
    assert.throws(() => telemetryBody("Button_pressed", { button: 2, ts: TS }), /missing field gesture/);
    assert.throws(() => telemetryBody("Button_pressed", { button: 0, gesture: "short", ts: TS }), /button must be 1\.\.16/);
    assert.throws(() => telemetryBody("Button_pressed", { button: 1.5, gesture: "short", ts: TS }), /integer/);
    assert.throws(() => telemetryBody("Button_pressed", { button: 1, gesture: "triple", ts: TS }), /one of short, long, double/);
    assert.throws(() => telemetryBody("Button_pressed", { button: 1, gesture: "short", ts: "yesterday" }), SchemaError);
    assert.throws(() => telemetryBody("toString", {}), /not declared/);
  });

  it("declares a Set_Color_<colour> event for every colour", () => {
    for (const c of LED_COLORS) assert.ok(TELEMETRY[`Set_Color_${c}`], c);
    telemetryBody("Set_Color_green", { target: "segment", indexes: [1, 3], pattern: "blink", ts: TS });
    assert.throws(() => telemetryBody("Set_Color_green", { target: "segment", indexes: [], pattern: "on", ts: TS }), /list of 1\.\.16/);
  });

  it("checks whole bodies: exactly one declared event", () => {
    assert.equal(checkTelemetry({ Events_dropped: { count: 3, ts: TS } }), "Events_dropped");
    assert.throws(() => checkTelemetry({}), /exactly one event/);
    assert.throws(() => checkTelemetry({ Events_dropped: { count: 3, ts: TS }, Button_stuck: { button: 1, ts: TS } }), /exactly one event/);
    assert.throws(() => checkTelemetry([1]), /object/);
  });

  it("checks command arguments, with optional fields", () => {
    checkMessage("setColor", { color: "red" }, COMMANDS.setColor!);
    checkMessage("setColor", { button: 3, color: "red", pattern: "blink", periodMs: 500, brightness: 40 }, COMMANDS.setColor!);
    assert.throws(() => checkMessage("setColor", { color: "pink" }, COMMANDS.setColor!), /color must be one of/);
    assert.throws(() => checkMessage("setColor", {}, COMMANDS.setColor!), /missing field color/);
    assert.throws(() => checkMessage("identify", { seconds: 601 }, COMMANDS.identify!), /1\.\.600/);
    assert.throws(() => checkMessage("allOff", { now: true }, COMMANDS.allOff!), /unknown field/);
  });

  it("bounds settings", () => {
    assert.equal(fieldProblem(50, SETTINGS.brightness!), undefined);
    assert.match(fieldProblem(101, SETTINGS.brightness!)!, /0\.\.100/);
    assert.match(fieldProblem("yes", SETTINGS.doublePress!)!, /true or false/);
  });

  it("accepts time stamps only in the exact UTC form (XS-safe pattern)", () => {
    const dt = TELEMETRY.Button_stuck!.fields.ts!;
    assert.equal(fieldProblem("2026-11-26T12:00:00Z", dt), undefined);
    assert.equal(fieldProblem("2026-11-26T12:00:00.5Z", dt), undefined);
    assert.notEqual(fieldProblem("2026-11-26T12:00:00.12345678901Z", dt), undefined);
    assert.notEqual(fieldProblem("2026-11-26 12:00:00Z", dt), undefined);
  });

  it("gives each product only declared events, commands and settings", () => {
    for (const model of Object.values(PRODUCT_MODELS)) {
      for (const t of model.telemetry) assert.ok(TELEMETRY[t], t);
      for (const c of model.commands) assert.ok(COMMANDS[c], c);
      for (const s of model.settings) assert.ok(SETTINGS[s], s);
    }
    assert.equal(PRODUCT_MODELS.light.telemetry.includes("Button_pressed"), false);
  });
});
