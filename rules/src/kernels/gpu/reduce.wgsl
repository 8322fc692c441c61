// Reductions over f32 arrays: each workgroup of 256 invocations walks the array with a
// grid stride, reduces in workgroup memory, and writes one partial result (as u32 bits) to
// out[workgroup]; the host combines the partials in order.
//
// WGSL lets implementations assume no NaN or infinity in float arithmetic, so every
// NaN/infinity test below is done on the bits.

struct Params {
    n: u32,
    rtol: f32,
    atol: f32,
    // bit 0: equal_nan
    flags: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 256u;
const NAN_BITS: u32 = 0x7fc00000u;
var<workgroup> su: array<u32, 256>;
var<workgroup> sf: array<f32, 256>;

fn is_nan(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn is_finite(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) < 0x7f800000u;
}

fn equal_nan() -> bool {
    return (p.flags & 1u) != 0u;
}

// NumPy's isclose.
fn close(x: f32, y: f32) -> bool {
    if is_finite(x) && is_finite(y) {
        return abs(x - y) <= p.atol + p.rtol * abs(y);
    }
    if is_nan(x) || is_nan(y) {
        return equal_nan() && is_nan(x) && is_nan(y);
    }
    // At least one infinity: close only when both are the same infinity.
    return bitcast<u32>(x) == bitcast<u32>(y);
}

// Position on the number line in ULPs, offset by 2^31 so that it is unsigned and
// +0 and -0 coincide.
fn ulp_key(x: f32) -> u32 {
    let u = bitcast<u32>(x);
    let mag = u & 0x7fffffffu;
    if (u >> 31u) == 1u {
        return 0x80000000u - mag;
    }
    return 0x80000000u + mag;
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
    var count = 0u;
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        if !close(a[i], b[i]) {
            count = count + 1u;
        }
    }
    su[li] = count;
    reduce_add_u(li);
    if li == 0u {
        out[wg.x] = su[0];
    }
}

// max |a - b| as the bits of a non-negative float (whose order is the bits' order);
// NaN bits sort above infinity, so a NaN difference wins.
@compute @workgroup_size(256)
fn max_abs_diff(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var m = 0u;
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        let x = a[i];
        let y = b[i];
        let d = x - y;
        var bits = bitcast<u32>(d) & 0x7fffffffu;
        if is_nan(x) || is_nan(y) || bits > 0x7f800000u {
            bits = NAN_BITS;
        }
        m = max(m, bits);
    }
    su[li] = m;
    reduce_max_u(li);
    if li == 0u {
        out[wg.x] = su[0];
    }
}

// max ULP distance; 0xffffffff stands for a NaN that does not match.
@compute @workgroup_size(256)
fn ulp_distance(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var m = 0u;
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        let x = a[i];
        let y = b[i];
        var d = 0u;
        if is_nan(x) || is_nan(y) {
            if !(equal_nan() && is_nan(x) && is_nan(y)) {
                d = 0xffffffffu;
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
    var s = 0.0;
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        s = s + a[i] * b[i];
    }
    sf[li] = s;
    reduce_add_f(li);
    if li == 0u {
        out[wg.x] = bitcast<u32>(sf[0]);
    }
}

@compute @workgroup_size(256)
fn sum(
    @builtin(local_invocation_index) li: u32,
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) nw: vec3<u32>,
) {
    var s = 0.0;
    let stride = nw.x * WG;
    for (var i = wg.x * WG + li; i < p.n; i = i + stride) {
        s = s + a[i];
    }
    sf[li] = s;
    reduce_add_f(li);
    if li == 0u {
        out[wg.x] = bitcast<u32>(sf[0]);
    }
}
