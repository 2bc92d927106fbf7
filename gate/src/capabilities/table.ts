// The capability table: what each program can do and which arguments make it do it.
//
// Sources: GTFOBins (https://gtfobins.github.io, GTFOBins/GTFOBins.github.io `_gtfobins/*`), the
// catalogue of which Unix programs can read files, write files, spawn shells, run commands, upload,
// download and escalate privileges; each program's manual page for the options that trigger it; and
// for listeners, tunnels, services, firewalls and the kernel, the manuals of those tools. The table is
// our own data, written here (no code copied); `g(...)` groups programs that behave alike.

import type { Cap, Prog } from "./types.ts";

const g = (names: string, p: Prog): Record<string, Prog> => Object.fromEntries(names.split(/\s+/).map((n) => [n, p]));
const c = (s: string) => s.split(" ") as Cap[];

// Option lists shared by several programs.
const CURL_VAL =
  "-o --output -d --data --data-binary --data-raw --data-urlencode --data-ascii --json -F --form -H --header -u --user -X --request -A --user-agent -e --referer -T --upload-file -x --proxy -m --max-time --connect-timeout -w --write-out -b --cookie -c --cookie-jar -K --config --max-filesize -r --range --retry -E --cert --key --cacert --resolve --connect-to -Y -y -z -C --unix-socket --interface --dns-servers -Q --quote --url";
const WGET_VAL =
  "-O --output-document -o --output-file -a --append-output -P --directory-prefix -U --user-agent --header --post-data --post-file --body-file --body-data --method -i --input-file -t --tries -T --timeout -Q --quota -e --execute --user --password --http-user --http-password --load-cookies --save-cookies --certificate --private-key -B --base";
const SSH_VAL = "-p -i -l -o -F -J -L -R -D -b -c -E -e -m -O -Q -S -W -w -B -I";
const XARGS_VAL = "-I -i -n -P -L -l -s -d -E -e -a --max-args --max-procs --delimiter --arg-file --replace --eof --max-lines --max-chars";
const SUDO_VAL = "-u -g -C -p -h -r -t -U -D -R -T --user --group --prompt --chdir --close-from --host --role --type --other-user";

const v = (s: string) => s.split(" ");

export const PROGRAMS: Record<string, Prog> = {
  // ---- readers: their positional arguments are files they read (GTFOBins file-read) ----
  ...g(
    "cat tac nl rev head tail more less pg most bat batcat view zcat zless zmore bzcat bzless bzmore xzcat xzless lzcat zstdcat lz4cat " +
      "base32 base58 base64 basenc basez ascii85 uuencode uudecode xxd od hd hexdump strings wc sort uniq cut diff diff3 sdiff cmp colordiff " +
      "md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum shasum file iconv fold column paste expand unexpand fmt pr " +
      "ptx tsort ul look comm join csplit split shuf tr cat-file dos2unix unix2dos mac2unix readelf nm objdump size ar ldd " +
      "msgattrib msgcat msgconv msguniq msgmerge msgfilter soelim zsoelim eqn tbl pic troff nroff groff tic nasm as " +
      "exiftool pygmentize highlight pandoc qpdf pdftotext csvtool xmore yelp whiptail dialog aspell espeak enscript " +
      "lsattr getfacl readlink realpath stat du tree lsof fuser zipinfo unzip gunzip bunzip2 unxz unzstd lz4 gzip bzip2 xz zstd " +
      "7z 7za 7zr unrar arj lha cpio pax genisoimage wall efax clamscan sha1 md5 jless fx glow mdcat",
    { can: c("read"), pos: "r" },
  ),
  // shell escapes of pagers and viewers (GTFOBins shell: `!sh` typed at the prompt)
  less: { can: c("read write shell"), pos: "r", val: v("-o -O --log-file -x -b -h -y -z -j -p -P -T -t"), out: v("-o -O --log-file"), esc: "!" },
  more: { can: c("read shell"), pos: "r", val: v("-n"), esc: "!" },
  man: { can: c("read shell"), pos: "a", val: v("-P --pager -C --config-file -M -S -m -L -E"), cmd: v("-P --pager"), esc: "!" },
  // pattern first, then files
  ...g("grep egrep fgrep zgrep zegrep zfgrep rg ag ack pcregrep bzgrep xzgrep", {
    can: c("read"),
    pos: "pr",
    val: v("-e -f -m -A -B -C --include --exclude --exclude-dir --color -d -D --regexp --file -g --glob -t --type -T --type-not --max-count"),
    in: v("-f --file"),
  }),
  jq: {
    can: c("read"),
    pos: "pr",
    val: v("--arg --argjson --slurpfile --rawfile --args --jsonargs -f --from-file --indent"),
    in: v("--slurpfile --rawfile -f --from-file"),
  },
  ...g("yq gojq jaq dasel", {
    can: c("read write"),
    pos: "pr",
    val: v("--arg -f --from-file -o --output-format -p --input-format"),
    on: { "-i": "write", "--inplace": "write" },
  }),
  ...g("awk gawk mawk nawk busybox-awk", {
    can: c("read write shell code net listen"),
    pos: "pr",
    val: v("-f -v -F --file --assign --field-separator -i --include -l --load"),
    in: v("-f --file"),
    code: [],
  }),
  ...g("sed gsed", {
    can: c("read write shell"),
    pos: "pr",
    val: v("-e -f --expression --file -l --line-length"),
    in: v("-f --file"),
    on: { "-i": "write", "--in-place": "write" },
  }),
  // ---- writers: their positional arguments are files they write ----
  ...g("tee sponge", { can: c("write"), pos: "w" }),
  touch: { can: c("write"), pos: "w", val: v("-d -t -r --date --reference") },
  ...g("mkdir mkfifo", { can: c("write"), pos: "w", val: v("-m --mode -Z --context") }),
  fallocate: { can: c("write"), pos: "w", val: v("-l -o --length --offset") },
  mktemp: { can: c("write"), val: v("-p --tmpdir --suffix") },
  ...g(
    "vi vim nvim ex rvim rview vimdiff gvim nano pico ed red emacs emacsclient mcedit joe jed micro kak helix hx code codium subl gedit kate mg zile ne",
    {
      can: c("read write shell"),
      pos: "w",
      val: v("-c --cmd -S -u -U -i -T -s -w -W --eval -l --load -f --funcall -r -t -q -e +"),
      cmd: [],
      esc: "!",
    },
  ),
  // ed's -s is "silent", not vim's script file: the positional is the file it edits
  ...g("ed red", { can: c("read write shell"), pos: "w", val: v("-p --prompt"), cmd: [], esc: "!" }),
  ...g("chmod chown chgrp chattr setfacl chcon setfattr", {
    can: c("write priv"),
    pos: "w1",
    val: v("--reference -m -M -x -X --modify --set --set-file -n -v"),
  }),
  ...g("shred wipe srm", { can: c("write delete"), pos: "d", val: v("-n -s --iterations --size --random-source") }),
  // fd PATTERN [PATH…] [-x|-X CMD…] (find's modern twin; -x/-X handled in analyze.ts)
  ...g("fd fdfind", {
    can: c("read exec delete"),
    val: v(
      "-t --type -e --extension -d --max-depth --min-depth --exact-depth -E --exclude -S --size --changed-within --changed-before -o --owner -j --threads --max-results -c --color --base-directory --search-path --ignore-file",
    ),
  }),
  // `openclaw gateway [run] --bind lan|tailnet|custom --port N` starts a gateway listening beyond loopback (analyze.ts)
  openclaw: { can: c("listen service"), val: v("--bind --port --profile --token --password --auth") },
  // resolvconf -a/-d/-u changes which DNS servers the machine uses
  resolvconf: { can: c("firewall read"), on: { "-a": "firewall", "-d": "firewall", "-u": "firewall", "--enable-updates": "firewall" } },
  ...g("rm unlink rmdir trash trash-put gio-trash", { can: c("delete"), pos: "d" }),
  // ---- copiers: sources read, the last one written ----
  ...g("cp install ln link rsync scp pscp gcp ditto", {
    can: c("read write priv"),
    pos: "cp",
    val: v(
      "-t --target-directory -S --suffix -m --mode -o --owner -g --group -e --rsh --exclude --include --filter -f --port -P -i -F -J -l -c --backup-dir --log-file --password-file --files-from",
    ),
  }),
  mv: { can: c("read write delete priv"), pos: "mv", val: v("-t --target-directory -S --suffix") },
  dd: { can: c("read write kernel"), pos: "a" },
  uniq: { can: c("read write"), pos: "r1w", val: v("-f -s -w --skip-fields --skip-chars --check-chars") },
  // ---- archives ----
  // GNU tar, and libarchive's bsdtar with the same options
  ...g("tar bsdtar gtar", {
    can: c("read write shell exec net upload download"),
    pos: "a",
    val: v(
      "-f -C --file --directory -T -X --exclude --files-from --exclude-from -I --use-compress-program --to-command --rsh-command --checkpoint-action --transform --xform -H --format -b -N",
    ),
    cmd: v("-I --use-compress-program --to-command --rsh-command --checkpoint-action --info-script --new-volume-script -F"),
  }),
  // GNU Stow links every file of its packages into the target directory (by default the parent of the stow directory)
  stow: { can: c("write delete"), val: v("-d --dir -t --target -S -D -R --ignore --defer --override") },
  ...g("zip jar", {
    can: c("read write shell"),
    pos: "wr",
    val: v("-TT --unzip-command -x -i -P --password -b -t -tt -n"),
    cmd: v("-TT --unzip-command"),
  }),
  // ---- run another command given as their arguments (GTFOBins shell: `nice /bin/sh`) ----
  // options that are only flags (`command -p`, `setsid -f`): none of them takes the program name as a value
  ...g("nohup setsid command builtin", { can: c("exec shell"), run: 0 }),
  ...g(
    "unbuffer caffeinate torsocks torify catchsegv daemonize disown unshare busybox toybox " +
      "aa-exec multitime pexec softlimit valgrind choom grc sshpass firejail bwrap proot fakeroot fakechroot nsenter " +
      "setarch linux32 linux64 i386 x86_64 numactl cgexec systemd-inhibit dbus-launch dbus-run-session xvfb-run " +
      "flatpak-spawn chronic ifne parallel rlwrap sem cpulimit prlimit trickle nocache eatmydata",
    {
      can: c("exec shell"),
      run: 0,
      val: v(
        "-a -t --target -l --limit -p --pid -n -g --group -o -x -e --exec -m -s -f -d -v -R --uname-2.6 -c --config -P --profile -j --jobs --load --delay",
      ),
    },
  ),
  env: { can: c("exec shell"), run: 0, val: v("-u --unset -C --chdir -S --split-string") },
  nice: { can: c("exec shell"), run: 0, val: v("-n --adjustment") },
  stdbuf: { can: c("exec shell"), run: 0, val: v("-i -o -e --input --output --error") },
  ionice: { can: c("exec shell"), run: 0, val: v("-c -n -p -P -u --class --classdata --pid --pgid --uid") },
  time: { can: c("exec shell write"), run: 0, val: v("-f -o --format --output"), out: v("-o --output") },
  exec: { can: c("exec shell"), run: 0, val: v("-a") },
  timeout: { can: c("exec shell"), run: 1, val: v("-s -k --signal --kill-after") },
  chroot: { can: c("exec shell priv"), run: 1, val: v("--userspec --groups"), on: { "*": "priv" } },
  flock: { can: c("exec shell write"), run: 1, val: v("-w -E --timeout --conflict-exit-code"), cmd: v("-c --command") },
  setlock: { can: c("exec shell write"), run: 1 },
  taskset: { can: c("exec shell"), run: 1, val: v("-p --pid") },
  chrt: { can: c("exec shell"), run: 1 },
  faketime: { can: c("exec shell"), run: 1, val: v("-f") },
  "arch-nspawn": { can: c("exec shell priv"), run: 1 },
  logsave: { can: c("exec shell write"), run: 1 },
  strace: { can: c("exec shell write read"), run: 0, val: v("-e -o -p -s -P -E -u -a -b -I -O -S -X"), out: v("-o") },
  ltrace: { can: c("exec shell write read"), run: 0, val: v("-e -o -p -s -u -a -n -F"), out: v("-o") },
  perf: { can: c("exec shell write"), run: 0, val: v("-o -e -p -F -c -C --output --event") },
  watch: { can: c("exec shell"), run: 0, val: v("-n -d --interval -q --equexit --differences") },
  script: {
    can: c("exec shell write"),
    pos: "w",
    val: v("-c --command -t -T -I -O -B -E -o --timing --log-in --log-out --log-io"),
    cmd: v("-c --command"),
  },
  xargs: { can: c("exec shell read"), run: 0, val: v(XARGS_VAL), in: v("-a --arg-file") },
  "start-stop-daemon": {
    can: c("exec shell service"),
    val: v("-x --exec -a --startas -u --user -c --chuid -n --name -p --pidfile -d --chdir"),
    cmd: [],
  },
  "run-parts": { can: c("exec shell"), pos: "a", val: v("-u --umask --arg -a --regex") },
  capsh: {
    can: c("exec shell priv"),
    val: v("--caps --drop --inh --user --uid --gid --groups --addamb --delamb"),
    cmd: [],
    on: { "--uid": "priv", "--gid": "priv", "--user": "priv", "--caps": "priv", "--addamb": "priv" },
  },
  expect: { can: c("exec shell code read"), pos: "r", val: v("-c -f"), code: v("-c") },
  screen: { can: c("exec shell write"), run: 0, val: v("-S -L -Logfile -c -d -r -x -X -p -t") },
  tmux: { can: c("exec shell read"), val: v("-S -L -f -c -t -s -n -F"), cmd: v("-c") },
  // terminal sharing: this machine's shell, reachable through the service's relay by whoever has the link
  tmate: { can: c("exec shell net listen"), listen: { when: ["*"], tunnel: true, def: -1 }, on: { "*": "shell" } },
  upterm: { can: c("exec shell net listen"), listen: { when: ["host"], tunnel: true, def: -1 }, on: { host: "shell" } },
  sshx: { can: c("exec shell net listen"), listen: { when: ["*"], tunnel: true, def: -1 }, on: { "*": "shell" } },
  // ---- privilege (GTFOBins privilege-escalation; sudo/su are also elevators) ----
  ...g("sudo doas pkexec run0 sudoedit ksu sudo-rs please", { can: c("exec shell priv"), run: 0, val: v(SUDO_VAL), on: { "*": "priv" } }),
  su: { can: c("exec shell priv"), val: v("-c --command -s --shell -g -G --group --supp-group -w"), cmd: v("-c --command") },
  runuser: { can: c("exec shell priv"), run: 0, val: v("-u -g -G --user --group -s --shell"), cmd: v("-c --command") },
  sg: { can: c("exec shell priv"), cmd: v("-c"), on: { "*": "priv" } },
  newgrp: { can: c("shell priv"), on: { "*": "priv" } },
  // namespaces: entering another process's (PID 1's) or mapping root in a new one
  nsenter: {
    can: c("exec shell priv firewall"),
    run: 0,
    val: v("-t --target -S --setuid -G --setgid"),
    on: { "-t": "priv", "--target": "priv", "--net": "firewall", "-n": "firewall", "-a": "priv", "--all": "priv" },
  },
  unshare: {
    can: c("exec shell priv"),
    run: 0,
    val: v("--map-user --map-group --propagation"),
    on: { "-r": "priv", "--map-root-user": "priv", "--map-user": "priv", "--map-auto": "priv" },
  },
  chisel: { can: c("net listen"), listen: { when: ["client", "server"], tunnel: true, def: -1 } },
  ...g("passwd chpasswd chsh chfn usermod useradd userdel adduser deluser groupadd groupdel groupmod gpasswd vipw vigr visudo newusers chage", {
    can: c("priv write"),
    on: { "*": "priv" },
  }),
  ...g("setcap setpriv", { can: c("priv"), on: { "*": "priv" } }),
  getent: { can: c("read") },
  // ---- shells (run a script file or a -c string; analysed as shell) ----
  ...g("sh bash zsh dash ksh mksh fish ash csh tcsh yash posh rc sash elvish nu xonsh oksh loksh pwsh", {
    can: c("shell exec code read net"),
    val: v("-o -O --rcfile --init-file"),
  }),
  // ---- interpreters (inline code: -c/-e/-r/-p/-E, or a here-document on stdin) ----
  ...g("python python2 python3 pypy pypy3 ipython ipython3 jython", {
    can: c("code shell read write delete net listen download upload"),
    val: v("-W -X -Q -m"),
    code: v("-c"),
    listen: {
      when: ["http.server", "SimpleHTTPServer", "pyftpdlib", "smtpd", "aiosmtpd", "http.server.cgi", "xmlrpc.server"],
      posPort: true,
      def: 8000,
      bind: v("-b --bind"),
    },
  }),
  ...g("node nodejs", {
    can: c("code shell read write delete net listen download upload"),
    val: v("-r --require --import --loader --experimental-loader --env-file --env-file-if-exists --input-type --conditions"),
    in: v("--env-file --env-file-if-exists"),
    code: v("-e --eval -p --print"),
  }),
  ...g("deno bun", { can: c("code shell read write delete net listen"), code: v("-e --eval -p --print") }),
  ...g("perl perl5", { can: c("code shell read write delete net listen download upload"), val: v("-I -M -m -x"), code: v("-e -E") }),
  ...g("ruby irb jruby", {
    can: c("code shell read write delete net listen download upload"),
    val: v("-I -r --require"),
    code: v("-e"),
    listen: { when: ["httpd"], port: v("-p --port"), def: 8080, bind: v("-b --bind-address") },
  }),
  ...g("php php7 php8 php-cgi", {
    can: c("code shell read write delete net listen download upload"),
    val: v("-d -c -z"),
    code: v("-r -B -R -E"),
    listen: { when: ["-S"], port: v("-S"), def: 8000 },
  }),
  ...g("lua luajit lua5.1 lua5.2 lua5.3 lua5.4", { can: c("code shell read write net listen"), val: v("-l"), code: v("-e") }),
  ...g("tclsh wish expectk", { can: c("code shell read write net") }),
  ...g("Rscript R", { can: c("code shell read write net"), code: v("-e --expr") }),
  ...g("julia octave octave-cli gnuplot guile clisp sbcl ecl racket gst scheme csi gsi chezscheme", {
    can: c("code shell read write net"),
    code: v("-e --eval -E --eval-string"),
  }),
  ...g("groovy scala kotlin jshell jrunscript jjs java", { can: c("code shell read write net"), code: v("-e") }),
  ...g("elixir iex erl escript", { can: c("code shell read write net"), code: v("-e --eval -eval") }),
  ...g("ghc ghci runghc runhaskell stack cabal", { can: c("code shell read write"), code: v("-e") }),
  ...g("osascript", { can: c("code shell"), code: v("-e") }),
  ...g("bc dc", { can: c("read shell code"), pos: "r", code: v("-e --expression") }),
  m4: { can: c("read shell code"), pos: "r", val: v("-D -U -I --define --undefine --include") },
  gdb: { can: c("exec shell code write"), pos: "a", val: v("-ex -iex -x -ix -p --pid -batch --args"), cmd: [], code: v("-ex -iex --eval-command") },
  // ---- compilers and build tools (run arbitrary code through the project, GTFOBins shell) ----
  ...g(
    "make gmake cmake ninja meson scons bazel buck gradle gradlew mvn mvnw ant sbt lein mix rebar3 cargo rustc go gcc g++ cc c++ c89 c99 clang clang++ " +
      "tcc cobc ld gfortran javac kotlinc dotnet msbuild swift swiftc zig nim crystal dub tsc esbuild vite webpack rollup parcel turbo nx lerna " +
      "autoconf autoheader autoreconf automake libtool configure latex pdflatex xelatex lualatex luatex tex pdftex xetex latexmk dvips bibtex " +
      "rake bundle bundler gem pip pip3 pipx uv poetry pipenv conda mamba npm npx pnpm pnpx yarn corepack composer cpan cpanm easy_install " +
      "ansible ansible-playbook ansible-test puppet chef-client knife salt terraform terragrunt pulumi packer vagrant helm rustup nvm volta asdf mise",
    { can: c("exec shell code read write delete net") },
  ),
  // ---- databases and REPLs with a shell escape ----
  mysql: {
    can: c("net shell read code"),
    val: v("-h --host -P --port -u --user -p --password -D --database -e --execute -S --socket --protocol"),
    code: v("-e --execute"),
    net: { host: v("-h --host"), port: v("-P --port"), def: 3306 },
    esc: "\\!",
  },
  mariadb: {
    can: c("net shell read code"),
    val: v("-h --host -P --port -u --user -D --database -e --execute"),
    code: v("-e --execute"),
    net: { host: v("-h --host"), port: v("-P --port"), def: 3306 },
    esc: "\\!",
  },
  psql: {
    can: c("net shell read write code"),
    val: v("-h --host -p --port -U --username -d --dbname -c --command -f --file -o --output -v --set"),
    code: v("-c --command"),
    in: v("-f --file"),
    out: v("-o --output"),
    net: { host: v("-h --host"), port: v("-p --port"), url: "postgresql", def: 5432 },
    esc: "\\!",
  },
  ...g("pg_dump pg_dumpall pg_restore pgcli", {
    can: c("net read write"),
    val: v("-h --host -p --port -U --username -d --dbname -f --file"),
    out: v("-f --file"),
    net: { host: v("-h --host"), port: v("-p --port"), def: 5432 },
  }),
  mysqldump: {
    can: c("net write"),
    val: v("-h --host -P --port -u --user -r --result-file"),
    out: v("-r --result-file"),
    net: { host: v("-h --host"), port: v("-P --port"), def: 3306 },
  },
  "redis-cli": {
    can: c("net code write"),
    val: v("-h -p -a -n -u -s --user --pass"),
    net: { host: v("-h"), port: v("-p"), url: "redis", hp: v("-u"), def: 6379 },
  },
  ...g("mongo mongosh", {
    can: c("net code"),
    val: v("--host --port -u -p --username --password --eval --authenticationDatabase"),
    code: v("--eval"),
    net: { host: v("--host"), port: v("--port"), url: "mongodb", def: 27017 },
  }),
  sqlite3: { can: c("read write shell code"), pos: "w", val: v("-cmd -init -separator -newline -nullvalue"), code: v("-cmd"), esc: ".shell" },
  sqlcmd: { can: c("net code"), val: v("-S -U -P -d -Q -q -i -o"), code: v("-Q -q"), net: { hp: v("-S"), def: 1433 } },
  cqlsh: { can: c("net code"), val: v("-u -p -e --execute"), net: { hostPort: true, def: 9042 } },
  ...g("ftp lftp ncftp tftp", { can: c("net shell upload download"), val: v("-p -u -e -c -P"), net: { hostPort: true, def: 21 }, esc: "!" }),
  // lftp's -p is the port (ftp's is passive mode); `-e`/`-c` are its command lines (`put FILE` uploads FILE)
  lftp: { can: c("net shell upload download"), val: v("-p -u -e -c -f"), net: { hostPort: true, port: v("-p"), def: 21 }, esc: "!" },
  smbclient: {
    can: c("net shell upload download"),
    val: v("-U -W -p --port -c --command -I"),
    net: { hostArg: true, port: v("-p --port"), def: 445 },
    esc: "!",
  },
  // ---- network clients ----
  ...g("curl curlie", { can: c("net upload download read write"), val: v(CURL_VAL), net: { url: "http", hp: v("--url") } }),
  ...g("wget wget2", { can: c("net upload download read write"), val: v(WGET_VAL), net: { url: "http" } }),
  ...g("aria2c axel lwp-download lwp-request GET POST HEAD http https httpie xh fetch urlget yt-dlp youtube-dl gallery-dl", {
    can: c("net download upload write"),
    val: v("-o -O --out -d --dir -i --input-file -H --header -a --auth"),
    net: { url: "http" },
  }),
  ...g("ssh mosh slogin dbclient", {
    can: c("net shell upload download listen exec"),
    val: v(`${SSH_VAL} --ssh --port --predict`),
    net: { def: 22 },
  }),
  // PuTTY's command-line ssh: the port is -P
  plink: { can: c("net shell upload download listen exec"), val: v("-P -l -i -pw -L -R -D -m -hostkey -proxycmd -load -sercfg"), net: { def: 22 } },
  // autossh takes ssh's options plus -M (its monitoring port)
  autossh: { can: c("net shell upload download listen exec"), val: v(`${SSH_VAL} -M`), net: { def: 22 } },
  // a second ssh server: a listener that hands out shells
  sshd: { can: c("listen service exec shell"), val: v("-p -f -o -h -E -c -g -k -u -C"), listen: { when: ["*"], port: v("-p"), def: 22 } },
  // web terminals and websocket bridges serve the command they are given (a shell: a bind shell)
  ...g("ttyd gotty websocketd wetty", {
    can: c("listen exec shell"),
    run: 0,
    val: v(
      "-p --port -i --interface -a --address -c --credential -u --uid -g --gid -t --client-option -T --term -b --base-path -I --index -P --ping-interval -s --signal --staticdir --cgidir --dir",
    ),
    listen: { when: ["*"], port: v("-p --port"), bind: v("-i --interface -a --address"), def: 8080 },
  }),
  // telnetd -l PROGRAM: every connection gets PROGRAM (a shell: a bind shell)
  ...g("telnetd utelnetd in.telnetd", {
    can: c("listen exec shell"),
    val: v("-l -p -b -f"),
    cmd: v("-l"),
    listen: { when: ["*"], port: v("-p"), bind: v("-b"), def: 23 },
  }),
  ...g("sftp psftp", { can: c("net shell upload download"), val: v("-P -i -o -F -J -l -S -b -B -c -D -R"), net: { def: 22 }, esc: "!" }),
  "ssh-copy-id": { can: c("net read write"), val: v("-i -p -o -F"), net: { def: 22 } },
  "ssh-keyscan": { can: c("net read"), val: v("-p -t -T -f"), net: { def: 22 } },
  // parallel ssh: every -H host is an ssh connection (port 22 unless -p/-x gives another)
  ...g("pssh parallel-ssh pdsh prsync pscp.pssh pslurp", {
    can: c("net exec shell upload download"),
    val: v("-H --host -h --hosts -l --user -p --par -O --option -x --extra-args -t --timeout -w -R -o --outdir -e --errdir"),
    net: { host: v("-H --host -w"), def: 22 },
  }),
  // Fabric and ClusterShell run commands on the hosts they are given (-H/--hosts, -w), over ssh
  ...g("fab clush", {
    can: c("net exec shell upload download"),
    val: v("-H --hosts -w -x -g -l -u -p --port -i -f -r"),
    net: { host: v("-H --hosts -w"), port: v("--port"), def: 22 },
  }),
  // salt-ssh TARGET FUNCTION: the target is a host reached over ssh
  "salt-ssh": {
    can: c("net exec shell upload download"),
    val: v("-i --roster --roster-file --priv -c --config-dir"),
    net: { hostArg: true, def: 22 },
  },
  ...g("rdiff-backup mutagen unison duplicity", { can: c("net read write delete upload download") }),
  sshfs: { can: c("net kernel upload download exec"), val: v("-p -o -F"), net: { def: 22 } },
  sshuttle: { can: c("net firewall listen exec"), val: v("-r --remote -e --ssh-cmd -l --listen"), on: { "*": "firewall" } },
  ...g("nc ncat netcat nc.openbsd nc.traditional pwncat socket", {
    can: c("net listen shell upload download"),
    val: v("-p -s -w -i -x -X -e -c -q -P -O -T -V --source-port --exec --sh-exec --lua-exec --proxy --proxy-type"),
    // -e PROGRAM / -c and --sh-exec COMMAND: what each connection is handed
    cmd: v("-e -c --exec --sh-exec"),
    net: { hostPort: true, def: -1 },
    listen: { when: ["-l", "--listen"], port: v("-p --source-port"), posPort: true, def: -1 },
  }),
  telnet: { can: c("net shell"), val: v("-l -b -e -n"), net: { hostPort: true, def: 23 } },
  // zsh's zsh/net/tcp module: `ztcp HOST PORT` connects, `ztcp -l PORT` listens
  ztcp: { can: c("net listen"), net: { hostPort: true, def: -1 }, listen: { when: ["-l"], posPort: true, def: -1 } },
  socat: { can: c("net listen shell read write upload download") },
  openssl: {
    can: c("read write net listen upload download"),
    pos: "a",
    val: v(
      "-in -out -passin -passout -key -inkey -config -name -keyform -outform -inform -connect -accept -port -cert -CAfile -servername -subj -days -keyout -newkey -CAkey -CA -extfile -extensions -reqexts -set_serial",
    ),
    in: v("-in -key -inkey -CAfile -config"),
    out: v("-out -keyout"),
    listen: { when: ["s_server"], port: v("-accept -port"), def: 4433 },
  },
  ...g("ping ping6 fping traceroute traceroute6 tracepath mtr arping", {
    can: c("net"),
    val: v("-c -i -w -W -s -t -I -p -q -m -f -M -S -Q -T"),
    net: { hostArg: true, def: 0 },
  }),
  // nping and hping3 probe the port given by -p
  ...g("nping hping3", {
    can: c("net"),
    val: v("-c -i -w -W -s -t -I -p -q -m -f -M -S -Q -T --dest-port --source-port -g --data --data-string"),
    net: { hostArg: true, port: v("-p --dest-port"), def: 0 },
  }),
  ...g("dig nslookup host drill kdig delv whois finger", {
    can: c("net"),
    val: v("-p -t -c -q -x -h -b -f"),
    net: { hostArg: true, port: v("-p"), def: 53 },
  }),
  ...g("nmap masscan zmap rustscan", {
    can: c("net shell read write"),
    val: v("-p -oN -oX -oG -oA -iL -e -S --script --top-ports"),
    out: v("-oN -oX -oG -oA"),
    in: v("-iL"),
    net: { hostArg: true, port: v("-p"), def: -1 },
  }),
  ab: { can: c("net upload download"), val: v("-n -c -t -p -T -H -C"), net: { url: "http" } },
  git: {
    can: c("read write delete exec shell net upload download"),
    val: v(
      "-C -c -m -b --branch --depth -o --origin --git-dir --work-tree --namespace -F --file --upload-pack --receive-pack --exec -u --template --config",
    ),
    net: { def: 22 },
  },
  ...g("hg svn bzr fossil", { can: c("read write exec shell net"), net: { url: "https" } }),
  rclone: {
    can: c("net upload download read write delete"),
    pos: "cp",
    val: v("--config -c --include --exclude --filter --min-age --max-age --transfers"),
  },
  ...g("tmpreaper tmpwatch", { can: c("delete"), val: v("--protect -x --exclude -U --exclude-user") }),
  ...g("aws gcloud gsutil az s3cmd doctl oci", {
    can: c("net upload download read write delete"),
    val: v("--profile --region --endpoint-url --project --output -o"),
  }),
  ...g("kubectl oc k9s", {
    can: c("net exec shell container upload download listen"),
    val: v("-n --namespace -f --filename -c --container -o --output --context --kubeconfig -l --selector --address"),
    listen: { when: ["port-forward"], bind: v("--address"), local: true, posPort: true, def: -1 },
    on: { exec: "exec", cp: "upload download" },
  }),
  // ---- tunnels and listeners that expose a local port to the outside ----
  ...g("ngrok localtunnel lt cloudflared bore frpc pagekite pinggy zrok expose-port tunnelmole serveo", {
    can: c("net listen"),
    val: v("--port -p --url --subdomain -s --local-port --host --hostname --authtoken --region --config"),
    listen: { when: ["*"], port: v("--port -p --url --local-port"), posPort: true, tunnel: true, def: -1 },
  }),
  tailscale: {
    can: c("net listen firewall"),
    val: v("--set-path --https --tcp --authkey --hostname"),
    listen: { when: ["funnel", "serve"], posPort: true, tunnel: true, def: -1 },
    on: { up: "firewall", down: "firewall", set: "firewall", file: "upload" },
  },
  // Twisted's `twistd web --path DIR` serves DIR (on 8080 unless --listen/--port says otherwise)
  twistd: {
    can: c("listen read service"),
    val: v("--path --port -p --listen -l --logfile --pidfile -d --rundir -u -g --uid --gid"),
    listen: { when: ["web", "ftp", "telnet", "mail", "dns"], port: v("--port -p --listen"), def: 8080 },
  },
  // caddy file-server --root DIR --listen :PORT
  caddy: {
    can: c("listen read service"),
    val: v("--root -r --listen -l --domain --config -c --adapter --from --to --access-log"),
    listen: { when: ["file-server", "reverse-proxy", "run", "start"], port: v("--listen -l --from"), def: 80 },
  },
  ...g(
    "http-server serve live-server browser-sync static-server httpserver simplehttpserver miniserve darkhttpd busybox-httpd updog dufs static-web-server goshs simple-http-server",
    {
      can: c("listen read"),
      val: v("-p --port -a --address -l --listen --host --bind --ip -d --dir -c"),
      listen: { when: ["*"], port: v("-p --port -l --listen"), bind: v("-a --address --host --bind --ip"), posPort: false, def: 8080 },
    },
  ),
  ...g("nginx apache2 httpd apache2ctl lighttpd php-fpm", { can: c("listen read service"), val: v("-c -g -p -f -k -C -e -E -t") }),
  ...g("gunicorn uvicorn hypercorn waitress-serve daphne", {
    can: c("listen read exec"),
    val: v("-c -b --bind --host --port -w --workers -k --worker-class --app-dir"),
    listen: { when: ["*"], port: v("--port -b --bind"), bind: v("-b --bind --host"), local: true, def: 8000 },
  }),
  // notebook servers run the code they are sent; dev servers (loopback unless bound elsewhere)
  jupyter: {
    can: c("listen read exec code shell"),
    val: v("--ip --port --notebook-dir --ServerApp.ip --NotebookApp.ip"),
    listen: { when: ["notebook", "lab", "server"], port: v("--port"), bind: v("--ip --ServerApp.ip --NotebookApp.ip"), local: true, def: 8888 },
  },
  ...g("next nuxt nuxi astro", {
    can: c("listen read exec"),
    val: v("-H --hostname --host -p --port"),
    listen: { when: ["dev", "start", "preview"], port: v("-p --port"), bind: v("-H --hostname --host"), local: true, def: 3000 },
  }),
  hugo: {
    can: c("listen read exec write"),
    val: v("--bind -p --port -s --source -d --destination"),
    listen: { when: ["server", "serve"], port: v("-p --port"), bind: v("--bind"), local: true, def: 1313 },
  },
  flask: {
    can: c("listen read exec"),
    val: v("-h --host -p --port --app -A"),
    listen: { when: ["run"], port: v("-p --port"), bind: v("-h --host"), local: true, def: 5000 },
  },
  // ---- containers and virtual machines ----
  ...g("docker podman nerdctl ctr crictl lxc lxd incus virsh vboxmanage VBoxManage qemu-system-x86_64 multipass kind minikube", {
    can: c("container shell exec read write priv kernel listen net"),
    val: v(
      "-v --volume -p --publish -e --env --env-file --name -w --workdir --network --net -u --user --mount --entrypoint -f --file -t --tag --platform --pid --ipc --uts --userns --cap-add --device --security-opt -H --host --context -c",
    ),
    listen: { when: ["-p", "--publish", "-P", "--publish-all"], port: v("-p --publish"), def: -1 },
    on: {
      "--privileged": "priv kernel",
      "--pid": "priv",
      "--cap-add": "priv",
      "--device": "kernel",
      "--security-opt": "priv",
      "--userns": "priv",
      "--cap-drop": "priv",
    },
  }),
  // run a package's program: the first positional is the program (`npx localtunnel --port 18789`)
  ...g("npx pnpx bunx", { can: c("exec shell code net"), run: 0, val: v("-p --package"), cmd: v("-c --call") }),
  find: {
    can: c("read write delete exec shell"),
    pos: "a",
    on: {
      "-delete": "delete",
      "-exec": "exec",
      "-execdir": "exec",
      "-ok": "exec",
      "-okdir": "exec",
      "-fprint": "write",
      "-fprintf": "write",
      "-fls": "write",
      "-fprint0": "write",
    },
  },
  ...g("locate plocate mlocate updatedb", { can: c("read") }),
  ...g("tsx ts-node esno", { can: c("code shell read write delete net listen"), code: v("-e --eval -p --print") }),
  powershell: { can: c("shell exec code read net"), code: v("-c -Command -command -EncodedCommand -e") },
  // PowerShell's file cmdlets and their aliases (as `pwsh -c '…'` runs them): what they read, write and delete
  ...g("Get-Content get-content gc Select-String select-string sls Import-Csv Format-Hex", {
    can: c("read"),
    pos: "r",
    // (-Path/-LiteralPath are left as markers: the path after them is the positional the cmdlet reads)
    val: v("-Pattern -Encoding -TotalCount -Tail -Head -First -Last -Delimiter"),
  }),
  ...g("Remove-Item remove-item ri del erase rd", { can: c("delete"), pos: "d", val: v("-Include -Exclude -Filter") }),
  ...g("Set-Content set-content Add-Content add-content Out-File out-file Clear-Content", {
    can: c("write"),
    pos: "w",
    val: v("-Value -Encoding -InputObject"),
  }),
  ...g("Invoke-WebRequest invoke-webrequest iwr Invoke-RestMethod invoke-restmethod irm", {
    can: c("net download upload read write"),
    val: v("-Uri -OutFile -Method -Body -Headers -InFile -ContentType -UserAgent"),
    in: v("-InFile"),
    out: v("-OutFile"),
    net: { url: "http", hp: v("-Uri") },
  }),
  ...g("Copy-Item copy-item cpi Move-Item move-item mi", { can: c("read write"), pos: "cp", val: v("-Destination -Include -Exclude -Filter") }),
  ...g("lynx w3m links elinks browsh", { can: c("net read download"), net: { url: "https" } }),
  ...g("websocat wscat", { can: c("net upload download"), val: v("-H --header --protocol"), net: { url: "ws" } }),
  ...g("chrome chromium chromium-browser google-chrome google-chrome-stable firefox microsoft-edge brave-browser", {
    can: c("net read download exec"),
    val: v("--user-data-dir --remote-debugging-port --profile-directory"),
    net: { url: "https" },
    listen: { when: ["--remote-debugging-port"], port: v("--remote-debugging-port"), local: true, def: 9222 },
  }),
  ...g("playwright puppeteer", { can: c("code net read write exec") }),
  ...g("xdg-open open gnome-open kde-open sensible-browser", { can: c("exec net read"), pos: "a" }),
  gio: {
    can: c("exec net read delete write"),
    pos: "a",
    on: { trash: "delete", remove: "delete", rm: "delete", move: "write delete", copy: "read write" },
  },
  "docker-compose": { can: c("container exec listen"), val: v("-f --file -p --project-name --env-file") },
  // ---- services, daemons and scheduled jobs ----
  systemctl: {
    can: c("service shell schedule kernel"),
    val: v("-H --host -M --machine -t --type -s --signal -p --property -n --lines -o --output"),
    on: {
      start: "service",
      stop: "service",
      restart: "service",
      reload: "service",
      enable: "service",
      disable: "service",
      mask: "service",
      unmask: "service",
      kill: "service",
      edit: "service",
      "daemon-reload": "service",
      "set-property": "service",
      link: "service",
      "add-wants": "service",
      "add-requires": "service",
      preset: "service",
      "preset-all": "service",
      reenable: "service",
      revert: "service",
      "try-restart": "service",
      "reload-or-restart": "service",
      isolate: "service kernel",
      "set-default": "service kernel",
      poweroff: "kernel",
      reboot: "kernel",
      halt: "kernel",
      kexec: "kernel",
      suspend: "kernel",
      hibernate: "kernel",
    },
  },
  ...g("service rc-service rc-update update-rc.d chkconfig sv svc launchctl brew-services supervisorctl pm2 forever initctl s6-svc runsv", {
    can: c("service exec"),
    on: {
      start: "service",
      stop: "service",
      restart: "service",
      reload: "service",
      enable: "service",
      disable: "service",
      load: "service",
      unload: "service",
      bootstrap: "service",
      bootout: "service",
      submit: "service",
      // pm2/forever: `startup` installs a boot service, `save`/`resurrect` restore the saved processes at boot
      startup: "service",
      save: "service",
      resurrect: "service",
      kickstart: "service",
      add: "service",
      del: "service",
      delete: "service",
      remove: "service",
      kill: "service",
      "-u": "service",
      "-d": "service",
      "-w": "service",
    },
  }),
  "systemd-run": {
    can: c("service schedule exec shell priv"),
    run: 0,
    val: v(
      "-u --unit -p --property --on-calendar --on-active --on-boot --on-unit-active -M --machine --uid --gid -E --setenv --timer-property --description --slice -H --host",
    ),
    on: { "*": "service", "--uid": "priv", "--gid": "priv" },
  },
  // installing a crontab (a file or `-`), editing or removing it; `crontab -l` only lists (see analyze.ts)
  // crontab and fcron's fcrontab: installing a crontab (a file or `-`), editing or removing it; `-l` only lists
  ...g("crontab fcrontab", {
    can: c("schedule read write exec"),
    val: v("-u -c"),
    pos: "r",
    on: { "-r": "schedule delete", "-e": "schedule", "-i": "schedule" },
  }),
  ...g("at batch atrm anacron", { can: c("schedule exec shell"), val: v("-f -q -t -m -M"), in: v("-f"), on: { "*": "schedule" } }),
  atq: { can: c("schedule") },
  // a cron daemon of its own (`busybox crond -c DIR`) runs whatever crontabs DIR holds; incron runs commands on file events
  ...g("crond cron fcron dcron", { can: c("schedule service exec"), val: v("-c -L -l -d -b"), on: { "*": "schedule" } }),
  incrontab: { can: c("schedule read write exec"), pos: "r", val: v("-u"), on: { "-r": "schedule delete", "-e": "schedule", "-i": "schedule" } },
  ...g("journalctl loginctl busctl timedatectl hostnamectl localectl machinectl resolvectl networkctl coredumpctl", {
    can: c("service read shell"),
    on: {
      "--vacuum-time": "delete",
      "--vacuum-size": "delete",
      "--vacuum-files": "delete",
      "--rotate": "write",
      "--flush": "write",
      "set-time": "kernel",
      "set-timezone": "kernel",
      "set-ntp": "kernel",
      "set-hostname": "kernel",
      "terminate-user": "service",
      "kill-user": "service",
      "enable-linger": "service",
      shell: "priv",
      login: "priv",
      dns: "firewall",
      domain: "firewall",
      revert: "firewall",
      reconfigure: "firewall",
    },
  }),
  // ---- kernel, devices, mounts and boot ----
  ...g(
    "insmod rmmod modprobe depmod kmod kexec chcpu grub-install grub-mkconfig update-grub update-grub2 grub2-mkconfig efibootmgr bootctl update-initramfs mkinitcpio dracut " +
      "mkfs mkfs.ext4 mkfs.ext3 mkfs.ext2 mkfs.xfs mkfs.vfat mkfs.fat mkfs.btrfs mkfs.ntfs mke2fs mkswap swapon swapoff wipefs fdisk sfdisk cfdisk parted gdisk sgdisk blkdiscard " +
      "bpftrace losetup cryptsetup dmsetup lvcreate lvremove vgcreate pvcreate mdadm hdparm sdparm tune2fs e2fsck fsck debugfs resize2fs xfs_repair zpool zfs btrfs " +
      "setenforce setsebool semodule aa-disable aa-complain apparmor_parser auditctl ldconfig sysctl mount umount pivot_root switch_root fusermount nvram dmidecode",
    {
      can: c("kernel write"),
      val: v("-t -o -O -w -p -L -U"),
      on: { "*": "kernel" },
    },
  ),
  // firmware, secure boot, boot entries and power state: changing them changes what boots next
  ...g("grub-reboot grub-set-default grub-editenv grub2-reboot grub2-set-default grub2-editenv", { can: c("kernel"), on: { "*": "kernel" } }),
  rtcwake: { can: c("kernel"), val: v("-m --mode -s --seconds -t --time -d --device -A --adjfile"), on: { "*": "kernel" } },
  flashrom: {
    can: c("kernel read write"),
    val: v("-p --programmer -c --chip -l --layout -i --image -o --output"),
    on: { "-w": "kernel", "--write": "kernel", "-E": "kernel", "--erase": "kernel", "--wp-disable": "kernel", "--wp-enable": "kernel" },
  },
  mokutil: {
    can: c("kernel"),
    on: {
      "--disable-validation": "kernel",
      "--enable-validation": "kernel",
      "--import": "kernel",
      "--delete": "kernel",
      "--reset": "kernel",
      "--set-verbosity": "kernel",
      "--ignore-db": "kernel",
      "--trust-mok": "kernel",
      "--password": "kernel",
      "--sb-state-set": "kernel",
    },
  },
  // a block or character special file is a device: `mknod x b 8 0` opens a disk (a fifo `p` is only a file)
  mknod: { can: c("write kernel"), pos: "w", val: v("-m --mode -Z --context"), on: { b: "kernel", c: "kernel", u: "kernel" } },
  // sysctl and mount only read unless asked to change
  // (overrides below replace the group entries)
  // ---- firewall, routes and interfaces ----
  ...g("iptables ip6tables iptables-legacy iptables-nft iptables-restore ip6tables-restore ebtables arptables", {
    can: c("firewall"),
    val: v("-t --table -j --jump -p --protocol -s --source -d --destination -i -o --dport --sport -m --match"),
    on: {
      "-A": "firewall",
      "--append": "firewall",
      "-I": "firewall",
      "--insert": "firewall",
      "-D": "firewall",
      "--delete": "firewall",
      "-R": "firewall",
      "--replace": "firewall",
      "-F": "firewall",
      "--flush": "firewall",
      "-X": "firewall",
      "--delete-chain": "firewall",
      "-P": "firewall",
      "--policy": "firewall",
      "-N": "firewall",
      "--new-chain": "firewall",
      "-Z": "firewall",
      "--zero": "firewall",
      "-E": "firewall",
    },
  }),
  ...g("iptables-restore ip6tables-restore iptables-legacy-restore iptables-nft-restore ebtables-restore arptables-restore", {
    can: c("firewall read"),
    on: { "*": "firewall" },
  }),
  "iptables-save": { can: c("read write"), val: v("-f --file -t"), out: v("-f --file") },
  nft: {
    can: c("firewall read"),
    val: v("-f --file -I --includepath"),
    in: v("-f --file"),
    on: {
      add: "firewall",
      insert: "firewall",
      delete: "firewall",
      flush: "firewall",
      create: "firewall",
      replace: "firewall",
      destroy: "firewall",
      reset: "firewall",
      rename: "firewall",
      "-f": "firewall",
      "--file": "firewall",
    },
  },
  ufw: {
    can: c("firewall"),
    on: {
      allow: "firewall",
      deny: "firewall",
      reject: "firewall",
      limit: "firewall",
      delete: "firewall",
      insert: "firewall",
      enable: "firewall",
      disable: "firewall",
      reset: "firewall",
      default: "firewall",
      route: "firewall",
      prepend: "firewall",
      reload: "firewall",
    },
  },
  "firewall-cmd": {
    can: c("firewall"),
    on: {
      "--add-port": "firewall",
      "--remove-port": "firewall",
      "--add-service": "firewall",
      "--remove-service": "firewall",
      "--add-rich-rule": "firewall",
      "--remove-rich-rule": "firewall",
      "--set-default-zone": "firewall",
      "--panic-on": "firewall",
      "--reload": "firewall",
      "--add-masquerade": "firewall",
      "--add-forward-port": "firewall",
      "--direct": "firewall",
      "--zone": "firewall",
      "--permanent": "firewall",
      "--complete-reload": "firewall",
    },
  },
  ...g("ip ip6", {
    can: c("firewall read shell"),
    val: v("-n -netns -b -batch -f -family"),
    on: {
      add: "firewall",
      del: "firewall",
      delete: "firewall",
      change: "firewall",
      replace: "firewall",
      flush: "firewall",
      set: "firewall",
      append: "firewall",
      prepend: "firewall",
      exec: "exec shell",
      "-batch": "firewall",
      "--batch": "firewall",
    },
  }),
  // connection tracking and IP sets the firewall's rules match on
  conntrack: {
    can: c("firewall"),
    on: {
      "-F": "firewall",
      "--flush": "firewall",
      "-D": "firewall",
      "--delete": "firewall",
      "-I": "firewall",
      "--create": "firewall",
      "-U": "firewall",
      "--update": "firewall",
    },
  },
  ipset: {
    can: c("firewall"),
    on: {
      flush: "firewall",
      destroy: "firewall",
      del: "firewall",
      add: "firewall",
      create: "firewall",
      restore: "firewall",
      swap: "firewall",
      rename: "firewall",
      "-F": "firewall",
      "-X": "firewall",
      "-D": "firewall",
      "-A": "firewall",
      "-R": "firewall",
    },
  },
  ...g("route ifconfig iwconfig ifup ifdown nmcli wg wg-quick brctl tc ethtool dhclient dhcpcd netplan vconfig openvpn wpa_cli iw", {
    can: c("firewall"),
    on: {
      off: "firewall",
      on: "firewall",
      hw: "firewall",
      add: "firewall",
      del: "firewall",
      delete: "firewall",
      up: "firewall",
      down: "firewall",
      set: "firewall",
      change: "firewall",
      modify: "firewall",
      replace: "firewall",
      flush: "firewall",
      apply: "firewall",
      connect: "firewall",
      disconnect: "firewall",
      "--config": "firewall",
      "--dev": "firewall",
      mtu: "firewall",
      netmask: "firewall",
      addbr: "firewall",
      delbr: "firewall",
      addif: "firewall",
      delif: "firewall",
    },
  }),
  // joining an overlay network or opening an IP-over-DNS tunnel routes traffic around the sandbox's network
  "zerotier-cli": { can: c("firewall net"), on: { join: "firewall", leave: "firewall", set: "firewall", orbit: "firewall" } },
  ...g("iodine iodined dns2tcpc dnscat dnscat2 ptunnel ptunnel-ng hans udp2raw", { can: c("firewall net listen"), on: { "*": "firewall" } }),
  "update-alternatives": {
    can: c("write priv"),
    on: { "--install": "write priv", "--set": "write priv", "--remove": "write priv", "--config": "write priv" },
  },
  // ---- package managers (GTFOBins: a package's install script runs a shell) ----
  ...g("apt apt-get aptitude dpkg rpm yum dnf zypper pacman apk snap flatpak brew port emerge opkg pkg nix nix-env xbps-install", {
    can: c("package shell exec net write priv"),
    on: {
      install: "package",
      remove: "package",
      purge: "package",
      "-i": "package",
      "--install": "package",
      "-S": "package",
      "-U": "package",
      "-R": "package",
      add: "package",
      del: "package",
      upgrade: "package",
      erase: "package",
    },
  }),
  // ---- inspection (no capability beyond reading what they list) ----
  ...g(
    "ls ll dir vdir echo printf pwd whoami id groups hostname uname uptime date cal true false test [ sleep yes seq basename dirname which whereis type hash " +
      "printenv locale tty stty tput clear reset history df free vmstat iostat mpstat top htop btop atop ps pgrep pidof lsblk lscpu lsusb lspci lsmod " +
      "lsns ss netstat nproc getconf arch w who last lastlog users dmesg tldr cowsay figlet jobs wait bg fg kill killall pkill pstree " +
      "expr factor numfmt cd pushd popd dirs read export unset set declare local readonly typeset shift return exit " +
      "break continue let shopt umask ulimit source . fc complete",
    { can: [] },
  ),
};

// Programs whose group entry above is refined (they only change state when asked to).
const R = (val: string, extra: Partial<Prog> = {}): Prog => ({ can: c("read"), pos: "r", val: v(val), ...extra });
Object.assign(PROGRAMS, {
  // readers whose options take values (the value is not a file)
  head: R("-n -c --lines --bytes"),
  tail: R("-n -c --lines --bytes -s --sleep-interval --pid"),
  cut: R("-d -f -c -b --delimiter --fields --characters --bytes --output-delimiter"),
  sort: R("-k -t -o -S -T --key --field-separator --output --buffer-size --temporary-directory --parallel", {
    can: c("read write"),
    out: v("-o --output"),
  }),
  shuf: R("-n -o -i --head-count --output --input-range --random-source", { can: c("read write"), out: v("-o --output") }),
  iconv: R("-f -t -o --from-code --to-code --output", { can: c("read write"), out: v("-o --output") }),
  xxd: R("-l -s -c -g -o -n --len --seek --cols --groupsize", { can: c("read write"), pos: "r1w" }),
  base64: R("-w --wrap"),
  base32: R("-w --wrap"),
  basenc: R("-w --wrap"),
  od: R("-A -t -N -j -w -S --address-radix --format --read-bytes --skip-bytes --width --strings"),
  hexdump: R("-n -s -e -f"),
  hd: R("-n -s -e -f"),
  strings: R("-n -t -e -T --bytes --radix --encoding --target"),
  nl: R("-b -w -s -v -i -n -h -f -d --body-numbering --number-width --number-separator"),
  fold: R("-w --width"),
  fmt: R("-w -p -g --width --prefix --goal"),
  column: R("-s -c -o -N -R -H -O -d -W -E -J -n --separator --output-separator --table-columns --output-width"),
  paste: R("-d --delimiters"),
  join: R("-t -1 -2 -j -o -a -v -e"),
  look: R("-t --terminate", { pos: "pr" }),
  expand: R("-t --tabs"),
  unexpand: R("-t --tabs"),
  pr: R("-h -l -w -W -o -N -s -S -e -i -n --header --length --width"),
  cmp: R("-n -i --bytes --ignore-initial"),
  diff: R("-U -C -W -I -x -X -F -L --label --exclude --exclude-from --ignore-matching-lines --width --unified --context -S --starting-file --color"),
  tac: R("-s --separator"),
  ul: R("-t --terminal"),
  split: R("-b -l -n -a -C -t --bytes --lines --number --suffix-length --additional-suffix --line-bytes --separator --filter", {
    can: c("read write"),
    pos: "r1w",
    cmd: v("--filter"),
  }),
  csplit: R("-f -b -n --prefix --suffix-format --digits", { can: c("read write") }),
  ptx: R("-F -g -w -b -i -o -S -W -M"),
  readelf: R("-x -p -R --hex-dump --string-dump --relocated-dump"),
  objdump: R("-j -M --section -b -m"),
  truncate: { can: c("write delete"), pos: "w", val: v("-s --size -r --reference"), on: { "-s": "write" } },
  sysctl: {
    can: c("kernel read"),
    val: v("-p --load -f"),
    in: v("-p --load -f"),
    on: { "-w": "kernel", "--write": "kernel", "-p": "kernel", "--load": "kernel", "--system": "kernel", "=": "kernel" },
  },
  mount: {
    can: c("kernel priv"),
    val: v("-t -o -O -L -U"),
    on: {
      "-a": "kernel",
      "--all": "kernel",
      "-o": "kernel",
      "-t": "kernel",
      "--bind": "kernel",
      "--rbind": "kernel",
      "--move": "kernel",
      "-B": "kernel",
      "-M": "kernel",
      "/": "kernel",
    },
  },
  umount: { can: c("kernel"), on: { "*": "kernel" } },
  dmesg: {
    can: c("read kernel"),
    on: {
      "-C": "kernel",
      "--clear": "kernel",
      "-c": "kernel",
      "--read-clear": "kernel",
      "-n": "kernel",
      "--console-level": "kernel",
      "-D": "kernel",
      "-E": "kernel",
    },
  },
  lsmod: { can: [] },
  bpftool: {
    can: c("kernel read"),
    on: {
      load: "kernel",
      loadall: "kernel",
      attach: "kernel",
      detach: "kernel",
      pin: "kernel",
      update: "kernel",
      delete: "kernel",
      register: "kernel",
    },
  },
  ldconfig: { can: c("kernel write"), on: { "*": "kernel" } },
  dmidecode: { can: c("read kernel"), val: v("-t -s --dump-bin --from-dump"), out: v("--dump-bin") },
  // VS Code: an editor, and `code tunnel` makes this machine reachable (editor and terminal) through Microsoft's relay
  code: {
    can: c("read write shell listen net"),
    pos: "w",
    val: v("-c --cmd -S -u -U -i -T -s -w -W --eval -l --load -f --funcall -r -t -q -e + --name --accept-server-license-terms"),
    cmd: [],
    esc: "!",
    listen: { when: ["tunnel", "serve-web"], tunnel: true, def: -1 },
  },
  // kotlinc -e and crystal eval run the code they are given (crystal's is the subcommand's argument, analyze.ts)
  kotlinc: { can: c("exec shell code read write delete net"), code: v("-e -expression") },
  crystal: { can: c("exec shell code read write delete net") },
  // Hy (Lisp on Python) and CHICKEN's interpreter run inline code too; kitty and wezterm have their own ssh
  hy: { can: c("code shell read write net"), code: v("-c") },
  "chicken-csi": { can: c("code shell read write net"), code: v("-e -p -P") },
  ocaml: { can: c("code shell read write net"), code: v("-e") },
  ...g("kitty kitten wezterm", { can: c("net exec shell") }),
  // guile's inline code is -c, clisp's -x
  guile: { can: c("code shell read write net"), code: v("-c --eval -E --eval-string") },
  clisp: { can: c("code shell read write net"), code: v("-x --eval") },
  source: { can: c("read exec shell"), pos: "r" },
  ".": { can: c("read exec shell"), pos: "r" },
} satisfies Record<string, Prog>);

/** `=` in an `on` map: any positional of the form `key=value` (sysctl net.ipv4.ip_forward=1). */
export const ASSIGNMENT_TRIGGER = "=";
