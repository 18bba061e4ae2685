import { register } from "node:module";

register("./comfy-stubs.mjs", import.meta.url);
