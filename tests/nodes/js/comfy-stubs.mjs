// Node module hooks for the JS unit tests: ComfyUI's /scripts/app.js and /scripts/api.js, which the extension
// imports from the page, become small stand-ins recording what the extension registers.
const STUBS = {
  "app.js": `export const app = { extensions: [], registerExtension(e) { this.extensions.push(e); } };`,
  "api.js": `export const api = { apiURL: (route) => "/api" + route };`,
};

export async function resolve(specifier, context, next) {
  const name = specifier.match(/\/scripts\/(app|api)\.js$/)?.[1];
  if (name) return { url: `data:text/javascript,${encodeURIComponent(STUBS[`${name}.js`])}`, shortCircuit: true };
  return next(specifier, context);
}
