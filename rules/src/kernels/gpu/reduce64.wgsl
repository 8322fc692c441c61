// The reductions of reduce.wgsl over f64 arrays (needs the SHADER_F64 and SHADER_INT64
// device features). Partials are u64: counts, bits of non-negative f64 (whose order is the
// bits' order), ULP distances, or the bits of partial sums.

struct Params {
    rtol: f64,
    atol: f64,
    n: u32,
    // bit 0: equal_nan
    flags: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f64>;
@group(0) @binding(1) var<storage, read> b: array<f64>;
@group(0) @binding(2) var<storage, read_write> out: array<u64>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> su: array<u64, 256>;
var<workgroup> sf: array<f64, 256>;

fn magnitude(x: f64) -> u64 {
    return bitcast<u64>(x) & ((u64(0x7fffffffu) << 32u) | u64(0xffffffffu));
}

fn inf_bits() -> u64 {
    return u64(0x7ff00000u) << 32u;
}

fn nan_bits() -> u64 {
    return u64(0x7ff80000u) << 32u;
}

fn is_nan(x: f64) -> bool {
    return magnitude(x) > inf_bits();
}

fn is_finite(x: f64) -> bool {
    return magnitude(x) < inf_bits();
}

fn equal_nan() -> bool {
    return (p.flags & 1u) != 0u;
}

fn close(x: f64, y: f64) -> bool {
    if is_finite(x) && is_finite(y) {
        return abs(x - y) <= p.atol + p.rtol * abs(y);
    }
    if is_nan(x) || is_nan(y) {
        return equal_nan() && is_nan(x) && is_nan(y);
    }
    return bitcast<u64>(x) == bitcast<u64>(y);
}

fn ulp_key(x: f64) -> u64 {
    let u = bitcast<u64>(x);
    let mag = magnitude(x);
    let half = u64(0x80000000u) << 32u;
    if (u >> 63u) == u64(1u) {
        return half - mag;
    }
    return half + mag;
}

fn reduce_add_u(li: u32) {
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if li < s {
            su[li] = su[li] + su[li + s];
        }
        workgroupBarrier();
    }
}

fn reduce_max_u(li: u32) {
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if li < s {
            su[li] = max(su[li], su[li + s]);
        }
        workgroupBarrier();
    }
}

fn reduce_add_f(li: u32) {
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s >> 1u) {
        if li < s {
            sf[li] = sf[li] + sf[li + s];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(256)
fn allclose(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var count = u64(0u);
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        if !close(a[i], b[i]) {
            count = count + u64(1u);
        }
    }
    su[li] = count;
    reduce_add_u(li);
    if li == 0u {
        out[wg.x] = su[0];
    }
}

@compute @workgroup_size(256)
fn max_abs_diff(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var m = u64(0u);
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        let x = a[i];
        let y = b[i];
        var bits = magnitude(x - y);
        if is_nan(x) || is_nan(y) || bits > inf_bits() {
            bits = nan_bits();
        }
        m = max(m, bits);
    }
    su[li] = m;
    reduce_max_u(li);
    if li == 0u {
        out[wg.x] = su[0];
    }
}

// max ULP distance; all ones stands for a NaN that does not match.
@compute @workgroup_size(256)
fn ulp_distance(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var m = u64(0u);
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        let x = a[i];
        let y = b[i];
        var d = u64(0u);
        if is_nan(x) || is_nan(y) {
            if !(equal_nan() && is_nan(x) && is_nan(y)) {
                d = ~u64(0u);
            }
        } else {
            let kx = ulp_key(x);
            let ky = ulp_key(y);
            d = max(kx, ky) - min(kx, ky);
        }
        m = max(m, d);
    }
    su[li] = m;
    reduce_max_u(li);
    if li == 0u {
        out[wg.x] = su[0];
    }
}

@compute @workgroup_size(256)
fn dot(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var s = f64(0.0);
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        s = s + a[i] * b[i];
    }
    sf[li] = s;
    reduce_add_f(li);
    if li == 0u {
        out[wg.x] = bitcast<u64>(sf[0]);
    }
}

@compute @workgroup_size(256)
fn sum(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var s = f64(0.0);
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        s = s + a[i];
    }
    sf[li] = s;
    reduce_add_f(li);
    if li == 0u {
        out[wg.x] = bitcast<u64>(sf[0]);
    }
}
