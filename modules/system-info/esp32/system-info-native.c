/*
 * Reset reason and heap figures for the KIS.ME diagnostics (modules/system-info): SDK 8.2.3 gives scripts neither
 * esp_reset_reason() nor the free heap outside instrumented builds.
 */
#include "xsmc.h"
#include "xsHost.h"

#include "esp_system.h"

void xs_systeminfo_resetReason(xsMachine *the)
{
	const char *reason;
	switch (esp_reset_reason()) {
		case ESP_RST_POWERON: reason = "power-on"; break;
		case ESP_RST_EXT: reason = "external-pin"; break;
		case ESP_RST_SW: reason = "software"; break;
		case ESP_RST_PANIC: reason = "panic"; break;
		case ESP_RST_INT_WDT: reason = "interrupt-watchdog"; break;
		case ESP_RST_TASK_WDT: reason = "task-watchdog"; break;
		case ESP_RST_WDT: reason = "watchdog"; break;
		case ESP_RST_DEEPSLEEP: reason = "deep-sleep"; break;
		case ESP_RST_BROWNOUT: reason = "brownout"; break;
		case ESP_RST_SDIO: reason = "sdio"; break;
		case ESP_RST_USB: reason = "usb"; break;
		case ESP_RST_JTAG: reason = "jtag"; break;
		case ESP_RST_EFUSE: reason = "efuse"; break;
		case ESP_RST_PWR_GLITCH: reason = "power-glitch"; break;
		case ESP_RST_CPU_LOCKUP: reason = "cpu-lockup"; break;
		default: reason = "unknown"; break;
	}
	xsmcSetString(xsResult, (char *)reason);
}

void xs_systeminfo_freeHeap(xsMachine *the)
{
	xsmcSetNumber(xsResult, (xsNumberValue)esp_get_free_heap_size());
}
