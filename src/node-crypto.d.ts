// The part of node:crypto the worker uses (nodejs_compat provides it at run time); the full Node
// typings are left out of the worker's build because they clash with the Workers ones.
declare module "node:crypto" {
  interface Hash {
    update(data: string): Hash;
    digest(encoding: "hex"): string;
  }
  export function createHash(algorithm: "sha256"): Hash;
}
