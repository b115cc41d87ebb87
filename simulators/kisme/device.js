/*
 * What the KIS.BOX and KIS.LIGHT simulators (../kisbox.js, ../kislight.js) share: the message protocol with the
 * firmware's lin adapters (modules/sim-window), the LED colours as the window shows them, and the test hook.
 *
 * Firmware → window: {"leds": [[index, r, g, b], ...]} (the PWM / strip values the LED driver writes, brightness
 * and gamma applied), {"pattern": {index, pattern, color, periodMs?, brightness?}} (what the pattern engine was
 * asked to show), {"status": 0|1} (the on-board LED), {"query": "buttons"} (at start: which are held?).
 * Window → firmware: {"button": n, "down": true|false} (n from 1), {"buttonsDown": [n, ...]} (the answer).
 *
 * Test hook (only when a folder `hook` sits next to this simulator file, i.e. in a copy of simulators/ made by a
 * test; the project's own folder has none): every 25 ms the window takes the command files `hook/in/*.json`
 * (oldest name first, deleted once read: {"button": n, "action": "down" | "up" | "click" | "double" | "long",
 * "holdMs"?}) and presses its buttons exactly as a click or a key would; after every change it writes
 * `hook/state.json` with the LEDs, the patterns and a history of both.
 */
import { DeviceBehavior } from "DevicePane";

export const GAMMA = 2.2;
const HISTORY = 400;

/** The colour a lit LED appears in: the driver's duty cycle back to perceived brightness (the engine applies gamma 2.2). */
export function perceived(rgb) {
	const channel = (v) => Math.round(255 * Math.pow(Math.max(0, Math.min(255, v)) / 255, 1 / GAMMA));
	return [channel(rgb[0]), channel(rgb[1]), channel(rgb[2])];
}

export function hex(rgb) {
	return "#" + rgb.map((v) => v.toString(16).padStart(2, "0")).join("");
}

export function isDark(rgb) {
	return rgb[0] + rgb[1] + rgb[2] === 0;
}

export function describePattern(p) {
	if (!p || p.pattern === "off" || p.color === "off") return "off";
	const color = typeof p.color === "string" ? p.color : `rgb(${p.color.r},${p.color.g},${p.color.b})`;
	let text = `${p.pattern} ${color}`;
	if (p.periodMs !== undefined) text += ` ${p.periodMs} ms`;
	if (p.brightness !== undefined && p.brightness !== 100) text += ` ${p.brightness} %`;
	return text;
}

function directoryOf(path) {
	return path.slice(0, path.lastIndexOf("/"));
}

/**
 * The device pane's behaviour for both products: keeps the LED state the firmware reports, redraws through
 * `onLedChanged`/`onStatusChanged`, sends button presses, and serves the test hook.
 */
export class KismeBehavior extends DeviceBehavior {
	onCreate(container, device) {
		super.onCreate(container, device);
		this.leds = [];
		this.patterns = [];
		this.status = 0;
		this.down = [];
		this.history = [];
		this.seq = 0;
		this.scheduled = [];
		this.reloadOnAbort = false;
		const hook = directoryOf(device.uri) + "/hook";
		this.hook = system.fileExists(hook) ? hook : undefined;
		if (this.hook) {
			system.ensureDirectory(this.hook + "/in");
			container.duration = 0;
			container.interval = 25;
			container.start();
			this.writeState();
		}
	}
	onAbort(container, status) {
		if (this.reloadOnAbort) {
			application.defer("doReloadFile");
			return true;
		}
	}
	onReloadOnAbortChanged(container, data) {
		this.reloadOnAbort = data.value;
	}

	// ---- buttons (pointer, keys, the controls pane, the test hook) ----
	press(container, button, down) {
		const count = this.device.buttons ?? 0;
		if (!(button >= 1 && button <= count)) return;
		if (!!this.down[button] === down) return;
		this.down[button] = down;
		this.postJSON(container, { button, down });
		container.distribute("onButtonChanged", button, down);
		this.record({ button, down });
	}
	onButtonDown(container, data) {
		this.press(container, data.button, true);
	}
	onButtonUp(container, data) {
		this.press(container, data.button, false);
	}
	onKeyDown(container, key) {
		const n = key.charCodeAt(0) - 48;
		if (n >= 1 && n <= 9) this.press(container, n, true);
	}
	onKeyUp(container, key) {
		const n = key.charCodeAt(0) - 48;
		if (n >= 1 && n <= 9) this.press(container, n, false);
	}

	// ---- from the firmware ----
	onJSON(container, json) {
		if (Array.isArray(json.leds)) {
			for (const entry of json.leds) {
				const [index, r, g, b] = entry;
				if (!Number.isInteger(index) || index < 0 || index > 63) continue;
				this.leds[index] = [r, g, b];
				container.distribute("onLedChanged", index, [r, g, b]);
				this.record({ index, rgb: [r, g, b] });
			}
		}
		if (json.pattern && Number.isInteger(json.pattern.index)) {
			const p = json.pattern;
			this.patterns[p.index] = p;
			const label = this["PATTERN" + p.index];
			if (label) label.string = describePattern(p);
			container.distribute("onPatternChanged", p.index, p);
			this.record({ index: p.index, pattern: p });
		}
		if ("status" in json) {
			this.status = json.status ? 1 : 0;
			container.distribute("onStatusChanged", this.status);
			const label = this.STATUS;
			if (label) label.string = this.status ? "on" : "off";
			this.record({ status: this.status });
		}
		if ("xsbug" in json && json.xsbug == "abort") application.defer("doReloadFile");
		if (json.query === "buttons") {
			// The firmware starts and asks which buttons are held (its power-up gesture). Commands the test hook has
			// queued for this moment are taken first: a press held "while powering up" is down before the answer.
			this.onTimeChanged(container);
			this.onTimeChanged(container);
			const down = [];
			for (let n = 1; n <= (this.device.buttons ?? 0); n++) if (this.down[n]) down.push(n);
			this.postJSON(container, { buttonsDown: down });
		}
	}

	// ---- test hook ----
	record(entry) {
		if (!this.hook) return;
		entry.t = Date.now();
		this.history.push(entry);
		if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
		this.writeState();
	}
	writeState() {
		if (!this.hook) return;
		this.seq++;
		const state = { seq: this.seq, leds: this.leds, patterns: this.patterns, status: this.status, down: this.down, history: this.history };
		try {
			system.writeFileString(this.hook + "/state.json", JSON.stringify(state));
		} catch {
		}
	}
	onTimeChanged(container) {
		if (!this.hook) return;
		const now = Date.now();
		while (this.scheduled.length && this.scheduled[0].at <= now) {
			const step = this.scheduled.shift();
			this.press(container, step.button, step.down);
		}
		if (this.scheduled.length) return; // one gesture at a time
		const names = [];
		try {
			const iterator = new system.DirectoryIterator(this.hook + "/in");
			for (let info = iterator.next(); info; info = iterator.next()) {
				if (!info.directory && info.name.endsWith(".json")) names.push(info.name);
			}
		} catch {
			return;
		}
		if (!names.length) return;
		names.sort();
		const path = this.hook + "/in/" + names[0];
		let command;
		try {
			command = JSON.parse(system.readFileString(path));
		} catch {
			command = undefined;
		}
		try {
			system.deleteFile(path);
		} catch {
		}
		if (command) this.schedule(command, now);
	}
	schedule(command, now) {
		const button = command.button;
		const steps = [];
		const hold = command.holdMs ?? 1500;
		switch (command.action) {
			case "down": steps.push([0, true]); break;
			case "up": steps.push([0, false]); break;
			case "click": steps.push([0, true], [120, false]); break;
			case "double": steps.push([0, true], [100, false], [200, true], [300, false]); break;
			case "long": steps.push([0, true], [hold, false]); break;
		}
		for (const [delay, down] of steps) this.scheduled.push({ at: now + delay, button, down });
	}
}

/** A button of the pane: pressed while the pointer is down on it. */
export class PaneButtonBehavior extends Behavior {
	onCreate(content, $) {
		this.button = $.button;
	}
	onTouchBegan(content) {
		model.DEVICE.first.behavior.press(model.DEVICE.first, this.button, true);
	}
	onTouchEnded(content) {
		model.DEVICE.first.behavior.press(model.DEVICE.first, this.button, false);
	}
}

/** An LED face: the colour the driver gives it, `unlit` when dark. */
export class LedBehavior extends Behavior {
	onCreate(content, $) {
		this.index = $.index;
		this.unlit = $.unlit;
		content.skin = new Skin({ fill: this.unlit });
	}
	onLedChanged(content, index, rgb) {
		if (index !== this.index) return;
		content.skin = new Skin({ fill: isDark(rgb) ? this.unlit : hex(perceived(rgb)) });
	}
}

/** The on-board status LED (single colour). */
export class StatusBehavior extends Behavior {
	onCreate(content, $) {
		content.skin = new Skin({ fill: "#3a2c10" });
	}
	onStatusChanged(content, on) {
		content.skin = new Skin({ fill: on ? "#ffb020" : "#3a2c10" });
	}
}

/** A caption that names the pattern the firmware asked for on LED `index`. */
export class PatternCaptionBehavior extends Behavior {
	onCreate(label, $) {
		this.index = $.index;
	}
	onPatternChanged(label, index, pattern) {
		if (index === this.index) label.string = describePattern(pattern);
	}
}

export const styles = {
	title: new Style({ font: "semibold 18px Open Sans", color: "#e8eaed", horizontal: "left" }),
	small: new Style({ font: "12px Open Sans", color: "#b8bcc4", horizontal: "center" }),
	smallLeft: new Style({ font: "12px Open Sans", color: "#b8bcc4", horizontal: "left" }),
	number: new Style({ font: "bold 28px Open Sans", color: "#101214", horizontal: "center", vertical: "middle" }),
};
