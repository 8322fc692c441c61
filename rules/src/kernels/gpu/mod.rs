//! The GPU backend: wgpu compute shaders (WGSL) for the kernels, over f32 always and over
//! f64 when the adapter has 64-bit float and integer shaders (SHADER_F64 and SHADER_INT64;
//! lavapipe has both). The device is opened once per process, on first use;
//! `BATUTA_DISABLE_GPU=1` keeps it closed. Calls are serialised (one upload at a time keeps
//! device memory bounded).

use std::sync::{Mutex, OnceLock, mpsc};

use wgpu::util::DeviceExt;

use super::element::{Dtype, Element};
use super::{Backend, KernelError};

const WG: u32 = 256;
/// Partial results per dispatch: enough workgroups to fill any device, few enough to
/// combine on the host in no time.
const MAX_GROUPS: u32 = 1024;

/// Whether `BATUTA_DISABLE_GPU=1` (or `true`) forbids the GPU.
pub fn gpu_disabled() -> bool {
    std::env::var("BATUTA_DISABLE_GPU").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The adapter the GPU backend uses, as `name, device type, backend`, or why there is none.
pub fn gpu_info() -> Result<String, String> {
    if gpu_disabled() {
        return Err("disabled by BATUTA_DISABLE_GPU=1".into());
    }
    device().map(|g| g.name.clone())
}

/// The adapter's driver and its version (`llvmpipe`: `Mesa 24.2.8`…), for a fingerprint of
/// the machine; `None` without a GPU.
pub fn gpu_driver() -> Option<String> {
    if gpu_disabled() {
        return None;
    }
    device().ok().map(|g| g.driver.clone())
}

/// The time to copy `bytes` to the device and back: what a kernel call pays before and
/// after it computes. Calibration divides by it to measure the bandwidth.
pub fn gpu_roundtrip(bytes: usize) -> Result<std::time::Duration, String> {
    if gpu_disabled() {
        return Err("disabled by BATUTA_DISABLE_GPU=1".into());
    }
    let g = device()?;
    let _busy = g
        .busy
        .lock()
        .map_err(|_| "the GPU lock is poisoned".to_owned())?;
    let size = (bytes.max(4) as u64).next_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT);
    if size > g.max_binding {
        return Err(format!(
            "{size} bytes exceed what one buffer holds on this device"
        ));
    }
    let data = vec![0u8; size as usize];
    let started = std::time::Instant::now();
    let on_device = g
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("roundtrip"),
            contents: &data,
            usage: wgpu::BufferUsages::COPY_SRC,
        });
    let staging = g.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("roundtrip staging"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut enc = g
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
    enc.copy_buffer_to_buffer(&on_device, 0, &staging, 0, size);
    g.queue.submit([enc.finish()]);
    let (tx, rx) = mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    g.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| e.to_string())?;
    rx.recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let read = staging
        .get_mapped_range(..)
        .map_err(|e| e.to_string())?
        .len();
    staging.unmap();
    debug_assert_eq!(read as u64, size);
    Ok(started.elapsed())
}

/// Whether the GPU backend can compute over `dtype` (f64 needs 64-bit shaders).
pub fn gpu_supports(dtype: Dtype) -> bool {
    !gpu_disabled() && device().is_ok_and(|g| dtype == Dtype::F32 || g.f64.is_some())
}

/// The compiled shaders for one element type.
struct Shaders {
    reduce: wgpu::ShaderModule,
    matmul: wgpu::ComputePipeline,
}

pub struct Gpu {
    name: String,
    /// `driver driver_info` as the adapter reports them.
    driver: String,
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    f32: Shaders,
    /// Set when the adapter runs 64-bit shaders.
    f64: Option<Shaders>,
    pipelines: Mutex<Vec<((&'static str, Dtype), wgpu::ComputePipeline)>>,
    /// The largest storage buffer one binding may hold, in bytes.
    max_binding: u64,
    busy: Mutex<()>,
}

fn device() -> Result<&'static Gpu, String> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    GPU.get_or_init(|| pollster::block_on(open()))
        .as_ref()
        .map_err(Clone::clone)
}

/// The GPU, if this call may use it for elements of type `T`.
pub(super) fn require<T: Element>() -> Result<&'static Gpu, KernelError> {
    if gpu_disabled() {
        return Err(KernelError::GpuUnavailable(
            "disabled by BATUTA_DISABLE_GPU=1".into(),
        ));
    }
    let g = device().map_err(KernelError::GpuUnavailable)?;
    if T::DTYPE == Dtype::F64 && g.f64.is_none() {
        return Err(KernelError::GpuUnavailable(format!(
            "the adapter {} has no 64-bit float and integer shaders (SHADER_F64, SHADER_INT64) for this f64 call",
            g.name
        )));
    }
    Ok(g)
}

async fn open() -> Result<Gpu, String> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::VULKAN;
    let instance = wgpu::Instance::new(desc);
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            format!(
                "no GPU adapter found ({e}); on Linux install a Vulkan driver, e.g. mesa-vulkan-drivers"
            )
        })?;
    let info = adapter.get_info();
    let name = format!("{}, {:?}, {:?}", info.name, info.device_type, info.backend);
    let driver = format!("{} {}", info.driver, info.driver_info);
    let limits = adapter.limits();
    let wide = wgpu::Features::SHADER_F64 | wgpu::Features::SHADER_INT64;
    let features = adapter.features() & wide;
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("batuta kernels"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        })
        .await
        .map_err(|e| format!("the adapter {name} refused a device: {e}"))?;
    let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("kernels"),
        entries: &[
            storage(0, true),
            storage(1, true),
            storage(2, false),
            wgpu::BindGroupLayoutEntry {
                binding: 3,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
        ],
    });
    let compile = |reduce: &str, matmul: String, what: &str| {
        let reduce = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(what),
            source: wgpu::ShaderSource::Wgsl(reduce.into()),
        });
        let mm = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(what),
            source: wgpu::ShaderSource::Wgsl(matmul.into()),
        });
        Shaders {
            reduce,
            matmul: pipeline(&device, &layout, &mm, "matmul"),
        }
    };
    let matmul = include_str!("matmul.wgsl");
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let f32 = compile(
        include_str!("reduce.wgsl"),
        matmul.to_owned(),
        "f32 kernels",
    );
    if let Some(e) = scope.pop().await {
        return Err(format!(
            "the kernels' shaders do not compile on {name}: {e}"
        ));
    }
    let f64 = if features == wide {
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let f64 = compile(
            include_str!("reduce64.wgsl"),
            matmul.replace("alias F = f32;", "alias F = f64;"),
            "f64 kernels",
        );
        match scope.pop().await {
            None => Some(f64),
            Some(e) => {
                tracing::warn!(
                    "the f64 kernels do not compile on {name}; f64 stays on the CPU: {e}"
                );
                None
            }
        }
    } else {
        None
    };
    let max_binding = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    Ok(Gpu {
        name,
        driver,
        device,
        queue,
        layout,
        f32,
        f64,
        pipelines: Mutex::new(Vec::new()),
        max_binding,
        busy: Mutex::new(()),
    })
}

fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    module: &wgpu::ShaderModule,
    entry: &str,
) -> wgpu::ComputePipeline {
    let pl = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(entry),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(&pl),
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params32 {
    n: u32,
    rtol: f32,
    atol: f32,
    flags: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params64 {
    rtol: f64,
    atol: f64,
    n: u32,
    flags: u32,
    pad: [u32; 2],
}

/// The uniform block of reduce.wgsl or reduce64.wgsl; tolerances rounded to `T`.
fn params<T: Element>(n: usize, rtol: f64, atol: f64, equal_nan: bool) -> Vec<u8> {
    let (n, flags) = (n as u32, u32::from(equal_nan));
    match T::DTYPE {
        Dtype::F32 => bytemuck::bytes_of(&Params32 {
            n,
            rtol: rtol as f32,
            atol: atol as f32,
            flags,
        })
        .to_vec(),
        Dtype::F64 => bytemuck::bytes_of(&Params64 {
            rtol,
            atol,
            n,
            flags,
            pad: [0; 2],
        })
        .to_vec(),
    }
}

/// The partial results as the shader wrote them: u32 from the f32 kernels, u64 from the
/// f64 ones.
fn partials<T: Element>(bytes: &[u8]) -> Vec<u64> {
    match T::DTYPE {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|c| u64::from(u32::from_le_bytes(c.try_into().expect("4 bytes"))))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect(),
    }
}

/// The element whose bits a partial holds.
fn from_bits<T: Element>(bits: u64) -> T {
    match T::DTYPE {
        Dtype::F32 => T::from_f64(f64::from(f32::from_bits(bits as u32))),
        Dtype::F64 => T::from_f64(f64::from_bits(bits)),
    }
}

impl Gpu {
    pub(super) fn backend(&self) -> Backend {
        Backend::Gpu {
            adapter: self.name.clone(),
        }
    }

    fn shaders<T: Element>(&self) -> &Shaders {
        match T::DTYPE {
            Dtype::F32 => &self.f32,
            Dtype::F64 => self.f64.as_ref().expect("require checked 64-bit shaders"),
        }
    }

    fn reduce_pipeline<T: Element>(&self, entry: &'static str) -> wgpu::ComputePipeline {
        let key = (entry, T::DTYPE);
        let mut cache = self.pipelines.lock().expect("pipeline cache");
        if let Some((_, p)) = cache.iter().find(|(k, _)| *k == key) {
            return p.clone();
        }
        let p = pipeline(
            &self.device,
            &self.layout,
            &self.shaders::<T>().reduce,
            entry,
        );
        cache.push((key, p.clone()));
        p
    }

    /// Elements of `T` per dispatch: what one binding holds, in whole workgroups.
    fn chunk<T: Element>(&self) -> usize {
        let elems = (self.max_binding / size_of::<T>() as u64).min(1 << 30) as usize;
        (elems / WG as usize * WG as usize).max(WG as usize)
    }

    fn storage<T: Element>(&self, data: &[T]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    /// Runs `pipeline` over a fresh `out` buffer of `out_bytes` and reads it back.
    fn run(
        &self,
        pipeline: &wgpu::ComputePipeline,
        inputs: [&wgpu::Buffer; 2],
        uniform: &[u8],
        out_bytes: u64,
        groups: (u32, u32),
    ) -> Result<Vec<u8>, KernelError> {
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: out_bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: out_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let params = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: uniform,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: inputs[0].as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: inputs[1].as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: out.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: params.as_entire_binding(),
                },
            ],
        });
        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: None,
                timestamp_writes: None,
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(groups.0, groups.1, 1);
        }
        enc.copy_buffer_to_buffer(&out, 0, &staging, 0, out_bytes);
        self.queue.submit([enc.finish()]);
        let (tx, rx) = mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| KernelError::Gpu(e.to_string()))?;
        rx.recv()
            .map_err(|e| KernelError::Gpu(e.to_string()))?
            .map_err(|e| KernelError::Gpu(e.to_string()))?;
        let result = staging
            .get_mapped_range(..)
            .map_err(|e| KernelError::Gpu(e.to_string()))?
            .to_vec();
        staging.unmap();
        Ok(result)
    }

    /// Validation and out-of-memory errors of what `f` asked of the device.
    fn checked<R>(&self, f: impl FnOnce() -> Result<R, KernelError>) -> Result<R, KernelError> {
        let _busy = self.busy.lock().expect("gpu lock");
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let r = f();
        if let Some(e) = pollster::block_on(invalid.pop()) {
            return Err(KernelError::Gpu(e.to_string()));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(KernelError::Gpu(format!(
                "{e} (BATUTA-O-002: reduce the batch size)"
            )));
        }
        r
    }

    /// One reduction over `a` (and `b`), as many elements per dispatch as a binding holds.
    fn reduce<T: Element>(
        &self,
        entry: &'static str,
        a: &[T],
        b: Option<&[T]>,
        (rtol, atol, equal_nan): (f64, f64, bool),
    ) -> Result<Vec<u64>, KernelError> {
        self.reduce_in_chunks(entry, a, b, (rtol, atol, equal_nan), self.chunk::<T>())
    }

    /// One reduction over `a` (and `b`), `chunk` elements per dispatch: the partials of
    /// every workgroup of every chunk, in order.
    fn reduce_in_chunks<T: Element>(
        &self,
        entry: &'static str,
        a: &[T],
        b: Option<&[T]>,
        (rtol, atol, equal_nan): (f64, f64, bool),
        chunk: usize,
    ) -> Result<Vec<u64>, KernelError> {
        let pipeline = self.reduce_pipeline::<T>(entry);
        self.checked(|| {
            let mut out = Vec::new();
            for (c, xa) in a.chunks(chunk).enumerate() {
                let ba = self.storage(xa);
                let bb = match b {
                    Some(b) => self.storage(&b[c * chunk..c * chunk + xa.len()]),
                    None => ba.clone(),
                };
                let groups = (xa.len() as u32).div_ceil(WG).clamp(1, MAX_GROUPS);
                let bytes = self.run(
                    &pipeline,
                    [&ba, &bb],
                    &params::<T>(xa.len(), rtol, atol, equal_nan),
                    u64::from(groups) * size_of::<T>() as u64,
                    (groups, 1),
                )?;
                out.extend(partials::<T>(&bytes));
            }
            Ok(out)
        })
    }

    pub(super) fn allclose_count<T: Element>(
        &self,
        a: &[T],
        b: &[T],
        rtol: f64,
        atol: f64,
        equal_nan: bool,
    ) -> Result<usize, KernelError> {
        let p = self.reduce("allclose", a, Some(b), (rtol, atol, equal_nan))?;
        Ok(p.iter().map(|&c| c as usize).sum())
    }

    pub(super) fn max_abs_diff<T: Element>(&self, a: &[T], b: &[T]) -> Result<T, KernelError> {
        let p = self.reduce("max_abs_diff", a, Some(b), (0.0, 0.0, false))?;
        Ok(from_bits(p.into_iter().max().unwrap_or(0)))
    }

    pub(super) fn ulp_max<T: Element>(
        &self,
        a: &[T],
        b: &[T],
        equal_nan: bool,
    ) -> Result<u64, KernelError> {
        let p = self.reduce("ulp_distance", a, Some(b), (0.0, 0.0, equal_nan))?;
        let nan = match T::DTYPE {
            Dtype::F32 => u64::from(u32::MAX),
            Dtype::F64 => u64::MAX,
        };
        Ok(match p.into_iter().max().unwrap_or(0) {
            d if d == nan => u64::MAX,
            d => d,
        })
    }

    pub(super) fn dot<T: Element>(&self, a: &[T], b: &[T]) -> Result<T, KernelError> {
        let p = self.reduce("dot", a, Some(b), (0.0, 0.0, false))?;
        Ok(p.into_iter().fold(T::ZERO, |s, x| s + from_bits::<T>(x)))
    }

    pub(super) fn sum<T: Element>(&self, a: &[T]) -> Result<T, KernelError> {
        let p = self.reduce("sum", a, None, (0.0, 0.0, false))?;
        Ok(p.into_iter().fold(T::ZERO, |s, x| s + from_bits::<T>(x)))
    }

    pub(super) fn matmul<T: Element>(
        &self,
        a: &[T],
        b: &[T],
        m: usize,
        k: usize,
        n: usize,
    ) -> Result<Vec<T>, KernelError> {
        if m * n == 0 {
            return Ok(vec![T::ZERO; m * n]);
        }
        let size = size_of::<T>();
        let too_big = |what: &str, len: usize| {
            KernelError::Gpu(format!(
                "{what} holds {} bytes, more than one GPU binding takes ({}); BATUTA-O-002: reduce the batch size",
                len * size,
                self.max_binding
            ))
        };
        for (what, len) in [("A", m * k), ("B", k * n), ("C", m * n)] {
            if (len * size) as u64 > self.max_binding {
                return Err(too_big(what, len));
            }
        }
        let groups = ((n as u32).div_ceil(16), (m as u32).div_ceil(16));
        if groups.0 > 65535 || groups.1 > 65535 {
            return Err(too_big("C", m * n));
        }
        let pipeline = &self.shaders::<T>().matmul;
        self.checked(|| {
            // A zero-sized storage binding is invalid: pad empty A and B (k = 0) with a zero.
            let pad = |x: &[T]| {
                if x.is_empty() {
                    vec![T::ZERO]
                } else {
                    x.to_vec()
                }
            };
            let ba = self.storage(&pad(a));
            let bb = self.storage(&pad(b));
            let dims = [m as u32, k as u32, n as u32, 0];
            let bytes = self.run(
                pipeline,
                [&ba, &bb],
                bytemuck::cast_slice(&dims),
                (m * n * size) as u64,
                groups,
            )?;
            Ok(bytes.chunks_exact(size).map(|c| T::from_le(c)).collect())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::element::Dtype;

    /// Inputs larger than one binding go through in several dispatches; here the chunk is
    /// made small so that the path runs on any device. Needs the GPU unless
    /// BATUTA_DISABLE_GPU=1, like the integration tests.
    #[test]
    fn reductions_split_over_several_dispatches() {
        if super::gpu_disabled() {
            return;
        }
        let g = super::require::<f32>().expect("a GPU adapter (lavapipe in CI)");
        let n = 10 * 256 + 99;
        let a: Vec<f32> = (0..n).map(|i| (i % 13) as f32).collect();
        let mut b = a.clone();
        b[7] += 1.0;
        b[n - 3] = f32::NAN;
        let tol = (1e-5, 1e-8, false);
        let count = |chunk| {
            g.reduce_in_chunks("allclose", &a, Some(&b), tol, chunk)
                .unwrap()
                .iter()
                .sum::<u64>()
        };
        assert_eq!(count(256), 2);
        assert_eq!(count(3 * 256), 2);
        assert_eq!(count(n), 2);
        let sum = g
            .reduce_in_chunks("sum", &a, None, tol, 512)
            .unwrap()
            .into_iter()
            .map(|x| f32::from_bits(x as u32))
            .sum::<f32>();
        assert_eq!(sum, a.iter().sum::<f32>());
        let max = g
            .reduce_in_chunks("max_abs_diff", &a, Some(&b), tol, 256)
            .unwrap()
            .into_iter()
            .max()
            .unwrap();
        assert!(f32::from_bits(max as u32).is_nan());
        if super::gpu_supports(Dtype::F64) {
            let a: Vec<f64> = a.iter().map(|&x| f64::from(x)).collect();
            let b: Vec<f64> = b.iter().map(|&x| f64::from(x)).collect();
            let c = g
                .reduce_in_chunks("allclose", &a, Some(&b), tol, 512)
                .unwrap();
            assert_eq!(c.iter().sum::<u64>(), 2);
        }
    }
}
