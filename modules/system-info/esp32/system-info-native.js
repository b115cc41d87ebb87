/*
 * Native bindings (system-info-native.c); typed in modules/typings/system-info-native.d.ts.
 */
export function resetReason() @ "xs_systeminfo_resetReason";
export function freeHeap() @ "xs_systeminfo_freeHeap";
