/*
 * KIS.LIGHT in mcsim: the signal column, its segments top to bottom (red, yellow, green, blue, white, as in
 * products/kislight), and the on-board status LED, driven by the firmware's lin adapters (modules/sim-window).
 * A segment shows what the firmware's strip driver writes (unlit: a dim lens of its colour); the captions and the
 * controls pane name the pattern it was asked for. Selected for the app kislight (products/kislight).
 */
import {
	ControlsColumn,
	InfoRow,
	SwitchRow,
} from "ControlsPane";

import {
	DeviceContainer,
	DeviceScreen,
} from "DevicePane";

import {
	KismeBehavior,
	LedBehavior,
	PatternCaptionBehavior,
	StatusBehavior,
	styles,
} from "./kisme/device.js";

const SEGMENTS = [
	{ name: "red", unlit: "#4a1c1c" },
	{ name: "yellow", unlit: "#4a441c" },
	{ name: "green", unlit: "#1c4a24" },
	{ name: "blue", unlit: "#1c264a" },
	{ name: "white", unlit: "#45474b" },
];
const HEIGHT = 56;

export default {
	applicationName: "kislight",
	uri: import.meta.uri,
	title: "KIS.LIGHT",
	buttons: 0,
	Workers: {},
	ControlsTemplate: ControlsColumn.template($ => ({
		contents: [
			...SEGMENTS.map((s, i) => InfoRow({ label: `Segment ${i + 1} (${s.name})`, value: "off", name: `PATTERN${i}` })),
			InfoRow({ label: "Status LED", value: "off", name: "STATUS" }),
			SwitchRow({ event: "onReloadOnAbortChanged", label: "Reload On Abort", on: "Yes", off: "No", value: false }),
		],
	})),
	DeviceTemplates: {
		0: DeviceContainer.template($ => ({
			Behavior: KismeBehavior, width: 320, height: 110 + SEGMENTS.length * (HEIGHT + 6),
			contents: [
				Content($, { left: 0, right: 0, top: 0, bottom: 0, skin: new Skin({ fill: "#23262b" }) }),
				Label($, { left: 20, top: 12, style: styles.title, string: "KIS.LIGHT" }),
				Label($, { right: 40, top: 16, style: styles.smallLeft, string: "status" }),
				Content($, { right: 20, top: 19, width: 14, height: 14, Behavior: StatusBehavior }),
				...SEGMENTS.map((s, i) => Content({ index: i, unlit: s.unlit }, { left: 30, width: 110, top: 50 + i * (HEIGHT + 6), height: HEIGHT, Behavior: LedBehavior })),
				...SEGMENTS.map((s, i) => Label({ index: i }, { left: 150, right: 10, top: 50 + i * (HEIGHT + 6) + 18, style: styles.smallLeft, string: "off", Behavior: PatternCaptionBehavior })),
				Content($, { left: 50, width: 70, top: 50 + SEGMENTS.length * (HEIGHT + 6), height: 30, skin: new Skin({ fill: "#5a6069" }) }),
				DeviceScreen($, { left: 0, width: 0, top: 0, height: 0, rotation: 0 }),
			],
		})),
	},
};
