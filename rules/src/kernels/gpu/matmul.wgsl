// C = A·B for row-major matrices, A m×k, B k×n, in 16×16 tiles staged through workgroup
// memory. The host compiles it for f32 as written, and for f64 with `alias F = f64;`.

alias F = f32;

struct Dims {
    m: u32,
    k: u32,
    n: u32,
    pad: u32,
}

@group(0) @binding(0) var<storage, read> a: array<F>;
@group(0) @binding(1) var<storage, read> b: array<F>;
@group(0) @binding(2) var<storage, read_write> c: array<F>;
@group(0) @binding(3) var<uniform> d: Dims;

const T: u32 = 16u;
var<workgroup> ta: array<array<F, 16>, 16>;
var<workgroup> tb: array<array<F, 16>, 16>;

@compute @workgroup_size(16, 16)
fn matmul(
    @builtin(local_invocation_id) l: vec3<u32>,
    @builtin(workgroup_id) w: vec3<u32>,
) {
    let row = w.y * T + l.y;
    let col = w.x * T + l.x;
    var s = F(0.0);
    let tiles = (d.k + T - 1u) / T;
    for (var t = 0u; t < tiles; t = t + 1u) {
        let ka = t * T + l.x;
        let kb = t * T + l.y;
        var va = F(0.0);
        if row < d.m && ka < d.k {
            va = a[row * d.k + ka];
        }
        var vb = F(0.0);
        if kb < d.k && col < d.n {
            vb = b[kb * d.n + col];
        }
        ta[l.y][l.x] = va;
        tb[l.y][l.x] = vb;
        workgroupBarrier();
        for (var q = 0u; q < T; q = q + 1u) {
            s = s + ta[l.y][q] * tb[q][l.x];
        }
        workgroupBarrier();
    }
    if row < d.m && col < d.n {
        c[row * d.n + col] = s;
    }
}
