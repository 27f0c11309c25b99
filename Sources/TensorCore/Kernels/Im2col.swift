// im2col and its adjoint for NCHW images: one image's column matrix, rows `ld` floats apart. At stride 1 and 2
// they run in AVX-512 (`cconv_im2col`, `cconv_col2im_add`: same bits) when `VectorConvKernels.enabled`.
import CConv

/// The output columns ow whose input column ow*s - p + j lies inside [0, w): ow in lo..<hi.
@inline(__always)
func validColumns(_ g: ConvGeometry, _ j: Int) -> (lo: Int, hi: Int) {
    let s = g.stride, a = g.pad - j
    let lo = a <= 0 ? 0 : (a + s - 1) / s
    let last = g.w - 1 + a   // ow*s <= last
    let hi = last < 0 ? 0 : min(g.wo, last / s + 1)
    return (lo, max(lo, hi))
}

/// cols[(c*k + i)*k + j, oh*wo + ow] = x[c, oh*s - p + i, ow*s - p + j] (0 outside the image),
/// with rows `ld` floats apart.
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ cols: UnsafeMutablePointer<Float>, ld: Int) {
    if g.stride <= 2 && VectorConvKernels.enabled {
        cconv_im2col(x, Int32(g.cin), Int32(g.h), Int32(g.w), Int32(g.k), Int32(g.stride), Int32(g.pad), cols, ld)
        return
    }
    let (ho, wo, s, p, k) = (g.ho, g.wo, g.stride, g.pad, g.k)
    for c in 0..<g.cin {
        let xc = x + c * g.h * g.w
        for i in 0..<k {
            for j in 0..<k {
                let row = cols + ((c * k + i) * k + j) * ld
                let (lo, hi) = validColumns(g, j)
                let off = j - p
                for oh in 0..<ho {
                    let ih = oh * s - p + i
                    let dst = row + oh * wo
                    if ih < 0 || ih >= g.h { dst.update(repeating: 0, count: wo); continue }
                    let src = xc + ih * g.w + off
                    if lo > 0 { dst.update(repeating: 0, count: lo) }
                    if s == 1 {
                        (dst + lo).update(from: src + lo, count: hi - lo)
                    } else {
                        for ow in lo..<hi { dst[ow] = src[ow * s] }
                    }
                    if hi < wo { (dst + hi).update(repeating: 0, count: wo - hi) }
                }
            }
        }
    }
}

/// The adjoint of `im2col`: dx[c, ih, iw] += cols[...] for every column that read it.
func col2imAdd(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>, ld: Int) {
    if g.stride <= 2 && VectorConvKernels.enabled {
        cconv_col2im_add(cols, Int32(g.cin), Int32(g.h), Int32(g.w), Int32(g.k), Int32(g.stride), Int32(g.pad), dx, ld)
        return
    }
    let (ho, wo, s, p, k) = (g.ho, g.wo, g.stride, g.pad, g.k)
    for c in 0..<g.cin {
        let dxc = dx + c * g.h * g.w
        for i in 0..<k {
            for j in 0..<k {
                let row = cols + ((c * k + i) * k + j) * ld
                let (lo, hi) = validColumns(g, j)
                let off = j - p
                for oh in 0..<ho {
                    let ih = oh * s - p + i
                    if ih < 0 || ih >= g.h { continue }
                    let src = row + oh * wo, dst = dxc + ih * g.w + off
                    if s == 1 {
                        for ow in lo..<hi { dst[ow] += src[ow] }
                    } else {
                        for ow in lo..<hi { dst[ow * s] += src[ow] }
                    }
                }
            }
        }
    }
}
