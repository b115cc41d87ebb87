/*
 * Native bindings (ota-rollback.c) for the app rollback API of ESP-IDF; typed in modules/typings/ota-rollback.d.ts.
 * A partition is { label, size, state }.
 */
export function running() @ "xs_otarollback_running";
export function boot() @ "xs_otarollback_boot";
export function next() @ "xs_otarollback_next";
export function lastInvalid() @ "xs_otarollback_lastInvalid";
export function selectRunning() @ "xs_otarollback_selectRunning";
export function markValid() @ "xs_otarollback_markValid";
export function markInvalidAndReboot() @ "xs_otarollback_markInvalidAndReboot";
export function rollbackEnabled() @ "xs_otarollback_rollbackEnabled";
