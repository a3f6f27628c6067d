// the provider's id, light enough for the plugin hook to read without loading the provider
export const PROVIDER_ID = 'sim';
/** The simulator's second id: a fallback chain of two simulated providers (dx-batch's demo). */
export const ALT_PROVIDER_ID = 'sim-alt';
