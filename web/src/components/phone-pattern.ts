// The browser's copy of the server's phone-pattern check (policy/src/settings.ts validatePhonePattern),
// so a bad pattern is flagged as it is typed. The server's check is the last word: it also runs
// libphonenumber-js on exact numbers, which this copy approximates with the country calling code
// and a minimum length (its message then appears on the same field after saving).

/** Every country calling code libphonenumber-js knows (getCountries() → getCountryCallingCode). */
const CALLING_CODES = (
  "1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 " +
  "211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238 239 240 241 242 243 244 245 246 247 248 " +
  "249 250 251 252 253 254 255 256 257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299 350 351 352 353 354 355 356 357 358 " +
  "359 370 371 372 373 374 375 376 377 378 380 381 382 383 385 386 387 389 420 421 423 500 501 502 503 504 505 506 507 508 509 590 591 592 " +
  "593 594 595 596 597 598 599 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692 850 852 853 855 856 880 " +
  "886 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 992 993 994 995 996 998"
).split(" ");

/** null when the pattern looks valid; otherwise the server's wording of the problem. */
export function phonePatternProblem(p: string): string | null {
  const s = p.trim();
  if (!s) return "phone pattern is empty";
  if (!/^\+\d*\*?$/.test(s)) return `"${s}" is not an E.164 pattern: use + followed by digits, optionally ending in * (e.g. +6591234567 or +65*)`;
  const digits = s.replace(/\D/g, "");
  if (s.endsWith("*")) {
    if (!digits.length) return `"${s}" matches every number: use unrestricted mode instead`;
    if (digits.length > 14) return `"${s}" is longer than any E.164 number`;
    const ok = CALLING_CODES.some((cc) => digits.startsWith(cc) || cc.startsWith(digits));
    return ok ? null : `"${s}" does not start with a known country calling code`;
  }
  if (digits.length > 15) return `"${s}" has more than 15 digits (E.164 maximum)`;
  const cc = CALLING_CODES.find((c) => digits.startsWith(c));
  if (!cc || digits.length < cc.length + 4) return `"${s}" is not a valid phone number (check the country code and length)`;
  return null;
}

/** The patterns of a one-per-line text (blank lines ignored) with the problem of each. */
export function parsePatterns(text: string): { pattern: string; line: number; problem: string | null }[] {
  return text
    .split("\n")
    .map((raw, i) => ({ pattern: raw.trim(), line: i + 1 }))
    .filter((x) => x.pattern !== "")
    .map((x) => ({ ...x, problem: phonePatternProblem(x.pattern) }));
}
