import { readFileSync } from "node:fs";

/** Stamped into the commands by the bundler; absent when these modules run as compiled by tsc alone (tests). */
declare const PACKAGE_VERSION: string | undefined;

/** The package version: stamped at build, else read once from the package.json beside the compiled tree. */
export const VERSION: string =
  typeof PACKAGE_VERSION === "string"
    ? PACKAGE_VERSION
    : (() => {
        try {
          const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
            version?: string;
          };
          return pkg.version ?? "0.0.0";
        } catch {
          return "0.0.0";
        }
      })();
