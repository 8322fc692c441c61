//! The GPU backend: wgpu compute shaders (WGSL) for the f32 kernels. The device is opened
//! once per process, on first use; `BATUTA_DISABLE_GPU=1` keeps it closed. Calls are
//! serialised (one upload at a time keeps device memory bounded).

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

/// The adapter the GPU backend uses, as `name (device type, backend)`, or why there is none.
pub fn gpu_info() -> Result<String, String> {
    if gpu_disabled() {
        return Err("disabled by BATUTA_DISABLE_GPU=1".into());
    }
    device().map(|g| g.name.clone())
}

pub struct Gpu {
    name: String,
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    reduce: wgpu::ShaderModule,
    matmul: wgpu::ComputePipeline,
    pipelines: Mutex<Vec<(&'static str, wgpu::ComputePipeline)>>,
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
    if T::DTYPE != Dtype::F32 {
        return Err(KernelError::GpuUnavailable(format!(
            "the GPU kernels compute in f32 (WGSL has no portable f64); this call is {}",
            T::DTYPE
        )));
    }
    device().map_err(KernelError::GpuUnavailable)
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
            format!("no GPU adapter found ({e}); on Linux install a Vulkan driver, e.g. mesa-vulkan-drivers")
        })?;
    let info = adapter.get_info();
    let name = format!("{}, {:?}, {:?}", info.name, info.device_type, info.backend);
    let limits = adapter.limits();
    let (device, queue) = adapter
        .request_device(&wgpu::DeviceDescriptor {
            label: Some("batuta kernels"),
            required_features: wgpu::Features::empty(),
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
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let reduce = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("reduce.wgsl"),
        source: wgpu::ShaderSource::Wgsl(include_str!("reduce.wgsl").into()),
    });
    let mm = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some("matmul.wgsl"),
        source: wgpu::ShaderSource::Wgsl(include_str!("matmul.wgsl").into()),
    });
    let matmul = pipeline(&device, &layout, &mm, "matmul");
    if let Some(e) = scope.pop().await {
        return Err(format!(
            "the kernels' shaders do not compile on {name}: {e}"
        ));
    }
    let max_binding = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    Ok(Gpu {
        name,
        device,
        queue,
        layout,
        reduce,
        matmul,
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
struct Params {
    n: u32,
    rtol: f32,
    atol: f32,
    flags: u32,
}

/// f32 data of a slice the caller checked is f32 (`require::<T>`).
fn as_f32<T: Element>(x: &[T]) -> &[f32] {
    assert_eq!(T::DTYPE, Dtype::F32, "the GPU kernels take f32");
    bytemuck::cast_slice(x)
}

impl Gpu {
    pub(super) fn backend(&self) -> Backend {
        Backend::Gpu {
            adapter: self.name.clone(),
        }
    }

    fn reduce_pipeline(&self, entry: &'static str) -> wgpu::ComputePipeline {
        let mut cache = self.pipelines.lock().expect("pipeline cache");
        if let Some((_, p)) = cache.iter().find(|(e, _)| *e == entry) {
            return p.clone();
        }
        let p = pipeline(&self.device, &self.layout, &self.reduce, entry);
        cache.push((entry, p.clone()));
        p
    }

    /// Elements per dispatch: what one binding holds, in whole workgroups.
    fn chunk(&self) -> usize {
        let elems = (self.max_binding / 4).min(1 << 30) as usize;
        (elems / WG as usize * WG as usize).max(WG as usize)
    }

    fn storage(&self, data: &[f32]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    /// Runs `pass` over a fresh `out` buffer of `out_len` u32 and reads it back.
    fn run(
        &self,
        pipeline: &wgpu::ComputePipeline,
        inputs: [&wgpu::Buffer; 2],
        uniform: &[u8],
        out_len: usize,
        groups: (u32, u32),
    ) -> Result<Vec<u32>, KernelError> {
        let bytes = (out_len * 4) as u64;
        let out = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("staging"),
            size: bytes,
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
        enc.copy_buffer_to_buffer(&out, 0, &staging, 0, bytes);
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
        let result = {
            let view = staging
                .get_mapped_range(..)
                .map_err(|e| KernelError::Gpu(e.to_string()))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        staging.unmap();
        Ok(result)
    }

    /// One reduction over `a` (and `b`), as many elements per dispatch as a binding holds.
    fn reduce(
        &self,
        entry: &'static str,
        a: &[f32],
        b: Option<&[f32]>,
        rtol: f32,
        atol: f32,
        equal_nan: bool,
    ) -> Result<Vec<u32>, KernelError> {
        self.reduce_in_chunks(entry, a, b, rtol, atol, equal_nan, self.chunk())
    }

    /// One reduction over `a` (and `b`), `chunk` elements per dispatch: the partials of
    /// every workgroup of every chunk, in order.
    #[allow(clippy::too_many_arguments)]
    fn reduce_in_chunks(
        &self,
        entry: &'static str,
        a: &[f32],
        b: Option<&[f32]>,
        rtol: f32,
        atol: f32,
        equal_nan: bool,
        chunk: usize,
    ) -> Result<Vec<u32>, KernelError> {
        let _busy = self.busy.lock().expect("gpu lock");
        let pipeline = self.reduce_pipeline(entry);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut partials = Vec::new();
        for (c, xa) in a.chunks(chunk).enumerate() {
            let ba = self.storage(xa);
            let bb = match b {
                Some(b) => self.storage(&b[c * chunk..c * chunk + xa.len()]),
                None => ba.clone(),
            };
            let groups = (xa.len() as u32).div_ceil(WG).clamp(1, MAX_GROUPS);
            let params = Params {
                n: xa.len() as u32,
                rtol,
                atol,
                flags: u32::from(equal_nan),
            };
            partials.extend(self.run(
                &pipeline,
                [&ba, &bb],
                bytemuck::bytes_of(&params),
                groups as usize,
                (groups, 1),
            )?);
        }
        if let Some(e) = pollster::block_on(invalid.pop()) {
            return Err(KernelError::Gpu(e.to_string()));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(KernelError::Gpu(format!(
                "{e} (BATUTA-O-002: reduce the batch size)"
            )));
        }
        Ok(partials)
    }

    pub(super) fn allclose_count<T: Element>(
        &self,
        a: &[T],
        b: &[T],
        rtol: f32,
        atol: f32,
        equal_nan: bool,
    ) -> Result<usize, KernelError> {
        let p = self.reduce(
            "allclose",
            as_f32(a),
            Some(as_f32(b)),
            rtol,
            atol,
            equal_nan,
        )?;
        Ok(p.iter().map(|&c| c as usize).sum())
    }

    pub(super) fn max_abs_diff<T: Element>(&self, a: &[T], b: &[T]) -> Result<T, KernelError> {
        let p = self.reduce("max_abs_diff", as_f32(a), Some(as_f32(b)), 0.0, 0.0, false)?;
        let m = f32::from_bits(p.into_iter().max().unwrap_or(0));
        Ok(T::from_f64(f64::from(m)))
    }

    pub(super) fn ulp_max<T: Element>(
        &self,
        a: &[T],
        b: &[T],
        equal_nan: bool,
    ) -> Result<u64, KernelError> {
        let p = self.reduce(
            "ulp_distance",
            as_f32(a),
            Some(as_f32(b)),
            0.0,
            0.0,
            equal_nan,
        )?;
        Ok(match p.into_iter().max().unwrap_or(0) {
            u32::MAX => u64::MAX,
            d => u64::from(d),
        })
    }

    pub(super) fn dot<T: Element>(&self, a: &[T], b: &[T]) -> Result<T, KernelError> {
        let p = self.reduce("dot", as_f32(a), Some(as_f32(b)), 0.0, 0.0, false)?;
        Ok(T::from_f64(f64::from(
            p.into_iter().fold(0.0f32, |s, x| s + f32::from_bits(x)),
        )))
    }

    pub(super) fn sum<T: Element>(&self, a: &[T]) -> Result<T, KernelError> {
        let p = self.reduce("sum", as_f32(a), None, 0.0, 0.0, false)?;
        Ok(T::from_f64(f64::from(
            p.into_iter().fold(0.0f32, |s, x| s + f32::from_bits(x)),
        )))
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
        let too_big = |what: &str, len: usize| {
            KernelError::Gpu(format!(
                "{what} holds {} bytes, more than one GPU binding takes ({}); BATUTA-O-002: reduce the batch size",
                len * 4,
                self.max_binding
            ))
        };
        for (what, len) in [("A", m * k), ("B", k * n), ("C", m * n)] {
            if (len * 4) as u64 > self.max_binding {
                return Err(too_big(what, len));
            }
        }
        let groups = ((n as u32).div_ceil(16), (m as u32).div_ceil(16));
        if groups.0 > 65535 || groups.1 > 65535 {
            return Err(too_big("C", m * n));
        }
        let _busy = self.busy.lock().expect("gpu lock");
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // A zero-sized storage binding is invalid: pad empty A or B (k = 0) with one zero.
        let pad = |x: &[f32]| if x.is_empty() { vec![0.0] } else { x.to_vec() };
        let ba = self.storage(&pad(as_f32(a)));
        let bb = self.storage(&pad(as_f32(b)));
        let dims = [m as u32, k as u32, n as u32, 0];
        let out = self.run(
            &self.matmul,
            [&ba, &bb],
            bytemuck::cast_slice(&dims),
            m * n,
            groups,
        );
        if let Some(e) = pollster::block_on(invalid.pop()) {
            return Err(KernelError::Gpu(e.to_string()));
        }
        if let Some(e) = pollster::block_on(oom.pop()) {
            return Err(KernelError::Gpu(format!(
                "{e} (BATUTA-O-002: reduce the batch size)"
            )));
        }
        Ok(out?
            .into_iter()
            .map(|x| T::from_f64(f64::from(f32::from_bits(x))))
            .collect())
    }
}

#[cfg(test)]
mod tests {
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
        let count = |chunk| {
            g.reduce_in_chunks("allclose", &a, Some(&b), 1e-5, 1e-8, false, chunk)
                .unwrap()
                .iter()
                .sum::<u32>()
        };
        assert_eq!(count(256), 2);
        assert_eq!(count(3 * 256), 2);
        assert_eq!(count(n), 2);
        let sum = g
            .reduce_in_chunks("sum", &a, None, 0.0, 0.0, false, 512)
            .unwrap()
            .into_iter()
            .map(f32::from_bits)
            .sum::<f32>();
        assert_eq!(sum, a.iter().sum::<f32>());
        let max = g
            .reduce_in_chunks("max_abs_diff", &a, Some(&b), 0.0, 0.0, false, 256)
            .unwrap()
            .into_iter()
            .max()
            .unwrap();
        assert!(f32::from_bits(max).is_nan());
    }
}
