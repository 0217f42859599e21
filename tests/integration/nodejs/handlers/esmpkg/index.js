// An ES module with a .js extension: its package.json says "type": "module".
export const handler = async (event) => ({
  module: "esm-js",
  event,
  esm: typeof require === "undefined",
});
