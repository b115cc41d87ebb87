// Types of sdk-profile.mjs for the TypeScript tests.
export declare const PROFILES: Readonly<Record<"development" | "production", { readonly sdkconfig: string; readonly partitions: string }>>;
export declare const PRODUCTION_TARGETS: readonly string[];

export interface SdkProfileDecision {
  readonly profile: "development" | "production" | undefined;
  readonly target: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly messages: string[];
  readonly error?: string;
}

export declare function resolveSdkProfile(options: {
  readonly platform: string;
  readonly production: boolean;
  readonly devCredentials: boolean;
  readonly target: string | undefined;
  readonly debug: boolean;
  readonly root: string;
}): SdkProfileDecision;
