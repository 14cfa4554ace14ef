import { describe, expect, it } from "vitest";
import { grubConfig, kernelArgs, syslinuxConfig } from "./boot-config.js";

describe("kernelArgs", () => {
  it.each([
    ["console=ttyS0  quiet", ["console=ttyS0", "quiet"]],
    ['x="a b" "y=c d" z', ["x=a b", "y=c d", "z"]],
    ['e="" f', ["e=", "f"]],
    ["a\n  b\r\nc", ["a", "b", "c"]],
    ["", []],
  ])("splits %j as the kernel does", (cmdline, args) => {
    expect(kernelArgs(cmdline)).toEqual(args);
  });
});

describe("grubConfig", () => {
  it("quotes only the arguments GRUB would expand or split, and appends text", () => {
    const cfg = grubConfig("/kernel", "/initrd.img", `console=ttyS0 a="b c" d=$e;f g=it's plain-1,2`);
    expect(cfg).toContain(`\tlinux /kernel console=ttyS0 'a=b c' 'd=$e;f' 'g=it'\\''s' plain-1,2 text\n`);
    expect(cfg).toContain("\tinitrd /initrd.img\n");
  });

  it("boots with `text` alone when the command line is empty", () => {
    expect(grubConfig("/kernel", "/initrd.img", "  ")).toContain("\tlinux /kernel text\n");
  });
});

describe("syslinuxConfig", () => {
  it("appends the command line literally, on one line", () => {
    const cfg = syslinuxConfig("/boot/kernel", "/boot/initrd.img", 'console=ttyS0 x="a b"\n  $y;z');
    expect(cfg).toBe(
      'DEFAULT linux\nLABEL linux\n    KERNEL /boot/kernel\n    INITRD /boot/initrd.img\n    APPEND console=ttyS0 x="a b" $y;z\n',
    );
  });

  it("leaves APPEND out for an empty command line", () => {
    expect(syslinuxConfig("/kernel", "/initrd.img", "")).not.toContain("APPEND");
  });
});
