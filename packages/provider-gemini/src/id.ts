// the provider's id, light enough for the plugin hook to read without loading the provider
export const PROVIDER_ID = 'gemini';
