import { assertEquals, assertOk, assertRejects } from "../_assert.ts";
import { createComputePipelineChecked, requestGpuDevice, wrapGpuDevice } from "../../lib/gpu/device.ts";

// GPU tests are ignored (never passed) without an adapter.
const adapter = await navigator.gpu?.requestAdapter();
const ignore = adapter === null || adapter === undefined;

Deno.test({
  name: "requestGpuDevice() returns a described device",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    try {
      assertOk(gpu.description.length > 0);
      assertEquals(typeof gpu.device.createBuffer, "function");
      gpu.throwIfFailed();
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "createComputePipelineChecked() throws with the WGSL compiler message instead of failing silently",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    try {
      const { device } = gpu;
      const layout = device.createPipelineLayout({ label: "DeviceTest.layout", bindGroupLayouts: [] });
      const err = await assertRejects(
        () =>
          createComputePipelineChecked(device, {
            label: "DeviceTest.bad",
            code: "@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }",
            entryPoint: "main",
            layout,
          }),
        "DeviceTest.bad: pipeline creation failed",
      );
      assertOk(err.message.includes("undefined_thing"), err.message);
      // An unknown override constant is a validation error too.
      await assertRejects(() =>
        createComputePipelineChecked(device, {
          label: "DeviceTest.override",
          code: "override WG: u32 = 1u; @compute @workgroup_size(WG) fn main() {}",
          entryPoint: "main",
          layout,
          constants: { NOT_DECLARED: 4 },
        }), "DeviceTest.override");
      const ok = await createComputePipelineChecked(device, {
        label: "DeviceTest.good",
        code: "override WG: u32 = 1u; @compute @workgroup_size(WG) fn main() {}",
        entryPoint: "main",
        layout,
        constants: { WG: 8 },
      });
      assertEquals(ok.pipeline.label, "DeviceTest.good");
    } finally {
      gpu.destroy();
    }
  },
});

Deno.test({
  name: "GpuDevice.track() rejects pending and later work once the device is destroyed",
  ignore,
  async fn() {
    const gpu = await requestGpuDevice();
    assertOk(gpu !== null);
    const never = new Promise<number>(() => {});
    const pending = gpu.track(never);
    gpu.destroy();
    await assertRejects(() => pending, "destroyed");
    await assertRejects(() => gpu.track(Promise.resolve(1)), "destroyed");
    let thrown = false;
    try {
      gpu.throwIfFailed();
    } catch {
      thrown = true;
    }
    assertOk(thrown);
  },
});

Deno.test({
  name: "wrapGpuDevice() turns an uncaptured GPU error into a rejection",
  ignore,
  async fn() {
    const device = await adapter!.requestDevice();
    const gpu = wrapGpuDevice(device, "wrapped");
    const pending = gpu.track(new Promise<void>(() => {}));
    // A buffer larger than the limit is an uncaptured validation error (no error scope around it).
    device.createBuffer({ size: 2 ** 52, usage: GPUBufferUsage.STORAGE });
    await assertRejects(() => pending, "uncaptured GPU error");
    gpu.destroy();
  },
});

Deno.test("quietSoftwareAdapterProbe() sets an unset XDG_RUNTIME_DIR only where the env permission is granted", async () => {
  const src = new URL("../../lib/gpu/device.ts", import.meta.url).href;
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    `import { quietSoftwareAdapterProbe } from "${src}";
quietSoftwareAdapterProbe();
const granted = Deno.permissions.querySync({ name: "env", variable: "XDG_RUNTIME_DIR" }).state === "granted";
console.log(granted ? String(Deno.env.get("XDG_RUNTIME_DIR")) : "no permission");\n`,
  );
  const run = async (allow: string[], extra: Record<string, string> = {}) => {
    const env: Record<string, string> = { ...Deno.env.toObject(), ...extra };
    if (!("XDG_RUNTIME_DIR" in extra)) delete env.XDG_RUNTIME_DIR;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--allow-read", ...allow, script],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout).trim() || new TextDecoder().decode(out.stderr).trim();
  };
  try {
    assertEquals(await run(["--allow-env=XDG_RUNTIME_DIR"]), "/tmp");
    assertEquals(await run(["--allow-env=XDG_RUNTIME_DIR"], { XDG_RUNTIME_DIR: "/run/me" }), "/run/me");
    assertEquals(await run([]), "no permission"); // no prompt, no throw
  } finally {
    await Deno.remove(script);
  }
});
