// An ES module by its extension, with top-level await (awaited before the first invocation).
const loadedAt = await Promise.resolve("init");

export const handler = async (event, context) => ({
  module: "mjs",
  event,
  awsRequestId: context.awsRequestId,
  loadedAt,
  esm: typeof require === "undefined",
});
