/** The flags every init test starts from: an aggregator, where agents write, the repository clusters pull. */
export const INIT_FLAGS = [
  "--aggregator",
  "hub",
  "--remote-write-url",
  "https://prom.example.com/api/v1/write",
  "--git-url",
  "https://github.com/acme/fleet.git",
];
