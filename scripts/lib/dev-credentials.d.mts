// Types of dev-credentials.mjs for the TypeScript tests.
export declare const DEV_RESOURCES: readonly string[];
export declare const DEV_MANIFESTS: { readonly none: string; readonly embed: string };

export interface DevCredentialsDecision {
  readonly embed: boolean;
  readonly folder?: string;
  readonly resources: string[];
  readonly env: { readonly KISME_DEV_CREDENTIALS_MANIFEST: string; readonly KISME_DEV_CREDENTIALS?: string };
  readonly messages: string[];
  readonly error?: string;
}

export declare function resolveDevCredentials(options: {
  readonly platform: string;
  readonly devCredentials: boolean;
  readonly env: Record<string, string | undefined>;
  readonly root: string;
  readonly exists?: (file: string) => boolean;
}): DevCredentialsDecision;
