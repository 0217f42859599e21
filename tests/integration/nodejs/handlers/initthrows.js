// Fails while loading.
throw new Error("init failed on purpose");
