/** MOCK (tests only): a QR-like PNG data URL, different for each seed. */
export function qrPng(seed: number): string;
