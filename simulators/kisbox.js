/*
 * KIS.BOX in mcsim: three illuminated push-buttons (an RGB LED in each) and the on-board status LED, driven by the
 * firmware's lin adapters (modules/sim-window). Press a button with the pointer or the keys 1..3 (hold for a long
 * press, press twice for a double press); the LEDs show what the firmware's LED driver writes, and the captions and
 * the controls pane name the pattern it was asked for. Selected for the app kisbox (products/kisbox).
 */
import {
	ControlsColumn,
	ButtonsRow,
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
	PaneButtonBehavior,
	PatternCaptionBehavior,
	StatusBehavior,
	styles,
} from "./kisme/device.js";

const BUTTONS = 3;
const numbers = [1, 2, 3];
const ring = (down) => new Skin({ fill: down ? "#f4f6f8" : "#5a6069" });

class RingBehavior extends PaneButtonBehavior {
	onCreate(container, $) {
		super.onCreate(container, $);
		container.skin = ring(false);
	}
	onButtonChanged(container, button, down) {
		if (button === this.button) container.skin = ring(down);
	}
}

export default {
	applicationName: "kisbox",
	uri: import.meta.uri,
	title: "KIS.BOX",
	buttons: BUTTONS,
	Workers: {},
	ControlsTemplate: ControlsColumn.template($ => ({
		contents: [
			...numbers.map((n) => ButtonsRow({
				label: `Button ${n} (key ${n})`,
				buttons: [{ eventDown: "onButtonDown", eventUp: "onButtonUp", button: n, label: "Press" }],
			})),
			...numbers.map((n) => InfoRow({ label: `LED ${n}`, value: "off", name: `PATTERN${n - 1}` })),
			InfoRow({ label: "Status LED", value: "off", name: "STATUS" }),
			SwitchRow({ event: "onReloadOnAbortChanged", label: "Reload On Abort", on: "Yes", off: "No", value: false }),
		],
	})),
	DeviceTemplates: {
		0: DeviceContainer.template($ => ({
			Behavior: KismeBehavior, width: 440, height: 250,
			contents: [
				Content($, { left: 0, right: 0, top: 0, bottom: 0, skin: new Skin({ fill: "#23262b" }) }),
				Label($, { left: 20, top: 12, style: styles.title, string: "KIS.BOX" }),
				Label($, { right: 40, top: 16, style: styles.smallLeft, string: "status" }),
				Content($, { right: 20, top: 19, width: 14, height: 14, Behavior: StatusBehavior }),
				...numbers.map((n, i) => Container({ button: n }, {
					left: 25 + i * 140, top: 56, width: 110, height: 110, active: true, Behavior: RingBehavior,
					contents: [
						Content({ index: i, unlit: "#3b3f46" }, { left: 6, right: 6, top: 6, bottom: 6, Behavior: LedBehavior }),
						Label($, { left: 0, right: 0, top: 0, bottom: 0, style: styles.number, string: String(n) }),
					],
				})),
				...numbers.map((n, i) => Label({ index: i }, { left: 15 + i * 140, width: 130, top: 176, style: styles.small, string: "off", Behavior: PatternCaptionBehavior })),
				Label($, { left: 0, right: 0, top: 214, style: styles.small, string: "click or keys 1..3 · hold for a long press · twice for a double press" }),
				DeviceScreen($, { left: 0, width: 0, top: 0, height: 0, rotation: 0 }),
			],
		})),
	},
};
