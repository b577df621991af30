//! Kernels compiled for the widest vector registers the CPU has, picked at run time, so that
//! one binary vectorises the loops of the element-wise kernels (the polynomial sine among
//! them) and the convolution as wide as each x86-64 CPU can.

/// The vector registers a kernel runs in.
#[cfg(target_arch = "x86_64")]
pub(crate) enum Simd {
    Avx512,
    Avx2,
    Baseline,
}

/// What this CPU runs (std caches the feature checks).
#[cfg(target_arch = "x86_64")]
pub(crate) fn simd() -> Simd {
    if std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512dq")
        && std::is_x86_feature_detected!("avx512vl")
        && std::is_x86_feature_detected!("fma")
    {
        Simd::Avx512
    } else if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        Simd::Avx2
    } else {
        Simd::Baseline
    }
}

/// `fn $name<generics> => $inner(args)` defines `$name`, which runs `$inner` (an
/// `#[inline(always)]` function) compiled three times: for the baseline target, with AVX2 +
/// FMA, and with AVX-512.
macro_rules! vectorised {
    ($(#[$doc:meta])* fn $name:ident<$($g:ident: $b:path),*> => $inner:ident ($($arg:ident: $ty:ty),* $(,)?)) => {
        $(#[$doc])*
        #[allow(clippy::too_many_arguments)]
        fn $name<$($g: $b),*>($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::backend::cpu::simd::{simd, Simd};
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512<$($g: $b),*>($($arg: $ty),*) {
                    $inner($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2<$($g: $b),*>($($arg: $ty),*) {
                    $inner($($arg),*)
                }
                match simd() {
                    // SAFETY: the CPU supports the features (checked by `simd`).
                    Simd::Avx512 => return unsafe { avx512($($arg),*) },
                    Simd::Avx2 => return unsafe { avx2($($arg),*) },
                    Simd::Baseline => {}
                }
            }
            $inner($($arg),*)
        }
    };
}

pub(crate) use vectorised;
