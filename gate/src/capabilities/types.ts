// The capability model's vocabulary: what a program can do, and how its arguments say it.

/** What running a program can do. An exec op carries the capabilities its arguments trigger (`caps`). */
export type Cap =
  | "read" // reads files named by its arguments
  | "write" // writes (creates, changes, truncates) files
  | "delete" // deletes files or directories
  | "exec" // runs other programs given in its arguments (`find -exec`, `env`, `xargs`, `git -c core.pager=…`)
  | "shell" // spawns a shell (an interactive one or a shell escape: `vim -c ':!sh'`, `less` `!`)
  | "code" // executes code given inline (`python -c`, `node -e`, `perl -e`, here-documents)
  | "net" // opens outbound network connections
  | "upload" // sends local data over the network
  | "download" // saves remote content
  | "listen" // listens on a local port or exposes one to the outside (tunnels, port forwards)
  | "priv" // changes users, groups, privileges, capabilities or file ownership/modes
  | "kernel" // touches devices, kernel modules, kernel parameters, mounts or boot state
  | "service" // manages services and daemons
  | "container" // manages containers and virtual machines
  | "schedule" // manages scheduled jobs (cron, at, timers)
  | "firewall" // changes firewall rules, routes or network interfaces
  | "package" // installs or removes software
  | "remote" // runs code it fetches from the network (`deno run https://…`, `eval(fetch(…))`)
  | "script" // runs a program file or module from disk: what it reads on standard input is data
  | "dynexec" // inline code runs a command it computes (`os.system(cmd)`): the gate cannot read it
  | "fetched" // runs a file the same command line downloaded (`curl -o x … && ./x`)
  | "revshell"; // a shell wired to a network connection, outbound or listening (GTFOBins reverse-shell / bind-shell)

/** What a program's positional (non-option) arguments are. */
export type Pos =
  | "r" // files it reads
  | "pr" // a pattern, script or expression, then files it reads (grep, awk, sed, jq)
  | "w" // files it writes
  | "w1" // a mode, owner or attribute, then files it changes (chmod, chown, chattr)
  | "d" // files it deletes
  | "cp" // sources it reads, then the destination it writes
  | "mv" // sources it moves (read and deleted), then the destination
  | "r1w" // one file it reads, then one it writes (uniq IN OUT, split FILE PREFIX)
  | "wr" // the archive it writes, then the files it reads into it
  | "a"; // paths whose effect is not known: accessed

/** How a network client names its peer. */
export interface NetSpec {
  /** positional arguments are URLs (or host[:port][/path]) of this default scheme */
  url?: string;
  /** options whose value is the host */
  host?: string[];
  /** options whose value is the port */
  port?: string[];
  /** options whose value is `host:port` (or a URL) */
  hp?: string[];
  /** the first positional is the host and the second the port (`nc host port`, `telnet host port`) */
  hostPort?: boolean;
  /** the first positional is the host (`mysql`-style clients take it by option instead) */
  hostArg?: boolean;
  /** the port when none is given (-1: it is not known) */
  def?: number;
}

/** How a program listens or exposes a port. */
export interface ListenSpec {
  /** arguments that make it listen (none: it always does when run) */
  when?: string[];
  /** options whose value is the port, or `host:port` */
  port?: string[];
  /** the first positional that is a number is the port */
  posPort?: boolean;
  /** the port when none is given */
  def?: number;
  /** a tunnel: what it listens on is reachable from the internet */
  tunnel?: boolean;
  /** options binding it to an address (loopback keeps it private) */
  bind?: string[];
  /** bound to loopback unless `bind` says otherwise */
  local?: boolean;
}

export interface Prog {
  /** what the program can do (GTFOBins functions, the program's manual) */
  can: Cap[];
  pos?: Pos;
  /** options that take a value (so the value is not a positional) */
  val?: string[];
  /** options whose value is a file it reads */
  in?: string[];
  /** options whose value is a file it writes */
  out?: string[];
  /** options whose value is a shell command line it runs */
  cmd?: string[];
  /** options whose value is code in the program's own language */
  code?: string[];
  /** runs its remaining arguments as a command, after this many leading positionals */
  run?: number;
  /** arguments that trigger a capability: `-x` a short flag (also inside `-xyz`), `--long` (also `--long=…`),
   * `-word` an exact argument, `word` an exact positional (subcommand), `*` any run */
  on?: Record<string, string>;
  net?: NetSpec;
  listen?: ListenSpec;
  /** an interactive shell escape: a line on its standard input starting with this runs a command (`less` `!`) */
  esc?: string;
}
