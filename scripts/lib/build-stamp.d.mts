// Types of build-stamp.mjs for the TypeScript tests.
export declare const SOURCE_DIRS: readonly string[];
export declare const CONFIG_FILES: readonly string[];
export declare const STAMP: string;
export declare function sourceFiles(root: string): string[];
export declare function sourceFingerprint(root: string): string;
export declare function staleReason(root: string, entry: string, fingerprint?: string): string | undefined;
export declare function writeStamp(root: string, fingerprint: string): void;
