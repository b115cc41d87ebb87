/*
 * ESP-IDF app rollback and partition states for the KIS.ME OTA adapter (modules/ota-partitions). SDK 8.2.3 writes
 * images (embedded:update: esp_ota_begin/write/end + esp_ota_set_boot_partition) but has no binding for the
 * rollback API the app-rollback bootloader needs (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, sdkconfig/).
 *
 * Each partition is described as { label, size, state } with state one of "new", "pendingVerify", "valid",
 * "invalid", "aborted", "undefined" (esp_ota_img_states_t; "undefined" also when otadata has no entry, e.g. an
 * image flashed over the serial port).
 */
#include "xsmc.h"
#include "xsHost.h"
#include "mc.xs.h"		// xsID_label, xsID_size, xsID_state

#include "esp_err.h"
#include "esp_partition.h"
#include "app_update/include/esp_ota_ops.h"	// as the SDK's update-esp32.c: $(IDF_PATH)/components is on the include path
#include "sdkconfig.h"

static const char *stateName(const esp_partition_t *partition)
{
	esp_ota_img_states_t state;
	if (ESP_OK != esp_ota_get_state_partition(partition, &state))
		return "undefined";
	switch (state) {
		case ESP_OTA_IMG_NEW: return "new";
		case ESP_OTA_IMG_PENDING_VERIFY: return "pendingVerify";
		case ESP_OTA_IMG_VALID: return "valid";
		case ESP_OTA_IMG_INVALID: return "invalid";
		case ESP_OTA_IMG_ABORTED: return "aborted";
		default: return "undefined";
	}
}

/* xsResult = { label, size, state } for `partition`, or undefined. Needs xsVar(0). */
static void describe(xsMachine *the, const esp_partition_t *partition)
{
	if (NULL == partition) {
		xsmcSetUndefined(xsResult);
		return;
	}
	xsmcSetNewObject(xsResult);
	xsmcSetString(xsVar(0), (char *)partition->label);
	xsmcSet(xsResult, xsID_label, xsVar(0));
	xsmcSetInteger(xsVar(0), (xsIntegerValue)partition->size);
	xsmcSet(xsResult, xsID_size, xsVar(0));
	xsmcSetString(xsVar(0), (char *)stateName(partition));
	xsmcSet(xsResult, xsID_state, xsVar(0));
}

void xs_otarollback_running(xsMachine *the)
{
	xsmcVars(1);
	describe(the, esp_ota_get_running_partition());
}

void xs_otarollback_boot(xsMachine *the)
{
	xsmcVars(1);
	describe(the, esp_ota_get_boot_partition());
}

void xs_otarollback_next(xsMachine *the)
{
	xsmcVars(1);
	describe(the, esp_ota_get_next_update_partition(NULL));
}

void xs_otarollback_lastInvalid(xsMachine *the)
{
	xsmcVars(1);
	describe(the, esp_ota_get_last_invalid_partition());
}

void xs_otarollback_selectRunning(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	esp_ota_img_states_t state;
	int pending = (ESP_OK == esp_ota_get_state_partition(running, &state)) && (ESP_OTA_IMG_PENDING_VERIFY == state);
	esp_err_t err = esp_ota_set_boot_partition(running);
	if (ESP_OK != err)
		xsUnknownError("esp_ota_set_boot_partition: %s", esp_err_to_name(err));
#ifdef CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
	// With rollback enabled that wrote a new otadata entry in state NEW: the running, already confirmed image would
	// boot "pending verify" again, and a restart before confirming it would go back to the other (cancelled) slot.
	// Confirm it again at once; a still-pending image stays pending.
	if (!pending && (ESP_PARTITION_SUBTYPE_APP_FACTORY != running->subtype)) {
		err = esp_ota_mark_app_valid_cancel_rollback();
		if (ESP_OK != err)
			xsUnknownError("esp_ota_mark_app_valid_cancel_rollback: %s", esp_err_to_name(err));
	}
#else
	(void)pending;
#endif
}

void xs_otarollback_markValid(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
	if (ESP_OK != err)
		xsUnknownError("esp_ota_mark_app_valid_cancel_rollback: %s", esp_err_to_name(err));
}

void xs_otarollback_markInvalidAndReboot(xsMachine *the)
{
	// Restarts into the previous valid image; returns only when there is none (or otadata cannot be written).
	esp_err_t err = esp_ota_mark_app_invalid_rollback_and_reboot();
	xsUnknownError("esp_ota_mark_app_invalid_rollback_and_reboot: %s", esp_err_to_name(err));
}

void xs_otarollback_rollbackEnabled(xsMachine *the)
{
#ifdef CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
	xsmcSetTrue(xsResult);
#else
	xsmcSetFalse(xsResult);
#endif
}
