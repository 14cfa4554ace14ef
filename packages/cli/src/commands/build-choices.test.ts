import { BUILDER_MODES, COMPRESSIONS, FORMATS } from "@kiln/builder";
import { describe, expect, it } from "vitest";
import { BUILDER_MODE_NAMES, COMPRESSION_NAMES, FORMAT_NAMES } from "./build-choices.js";

describe("kiln build's choices", () => {
  it("are the builder's formats, compressions and builder modes, in the builder's order", () => {
    expect(FORMAT_NAMES).toEqual(FORMATS.map((f) => f.name));
    expect(COMPRESSION_NAMES).toEqual(COMPRESSIONS);
    expect(BUILDER_MODE_NAMES).toEqual(BUILDER_MODES);
  });
});
