/** Reverse-mode autodiff to standard ONNX ops, and its finite-difference checker. */
export { gradients, stopGradient, customGradient, type CustomBackward, type CustomGradientSpec, type GradientsOptions } from './gradients.js';
export { gradcheck, type GradcheckBuild, type GradcheckInputReport, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
