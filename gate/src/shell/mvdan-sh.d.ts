// mvdan-sh ships no types; the syntax tree mirrors the Go structs of mvdan.cc/sh/v3/syntax.
declare module "mvdan-sh" {
  // biome-ignore lint/suspicious/noExplicitAny: GopherJS objects, read by field name as in the Go API
  type GoNode = any;
  const sh: {
    syntax: {
      NewParser(...opts: unknown[]): { Parse(src: string, name: string): GoNode };
      KeepComments(on: boolean): unknown;
      Variant(v: unknown): unknown;
      LangBash: unknown;
      NodeType(n: GoNode): string;
      Walk(n: GoNode, f: (n: GoNode) => boolean): void;
    };
  };
  export default sh;
}
