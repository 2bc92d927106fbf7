// Imported just before mvdan-sh (a GopherJS build) so that bash-tree.ts can undo what loading it does to
// the process: it sets `Error.stackTraceLimit = Infinity` and a global `require`.
export const before = { stackTraceLimit: Error.stackTraceLimit, hadRequire: "require" in globalThis };
