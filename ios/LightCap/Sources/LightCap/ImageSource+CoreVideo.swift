// Camera frames and decoded images from Apple's frameworks as LightCap image sources
// (encoded photos: ImageSource+Photos.swift).

import CoreGraphics
import CoreVideo
import Foundation

extension ImageSource {
    /// A camera frame in `kCVPixelFormatType_32BGRA` (what `AVCaptureVideoDataOutput`
    /// delivers when asked for it). The pixels are copied, so the buffer can go back to
    /// the capture pool as soon as this returns.
    public static func frame(from pixelBuffer: CVPixelBuffer) throws -> ImageSource {
        guard CVPixelBufferGetPixelFormatType(pixelBuffer) == kCVPixelFormatType_32BGRA else {
            throw LightCapError.InvalidFrame(
                message: "pixel buffer format must be kCVPixelFormatType_32BGRA (set videoSettings on the output)")
        }
        CVPixelBufferLockBaseAddress(pixelBuffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixelBuffer, .readOnly) }
        guard let base = CVPixelBufferGetBaseAddress(pixelBuffer) else {
            throw LightCapError.InvalidFrame(message: "pixel buffer has no base address")
        }
        let height = CVPixelBufferGetHeight(pixelBuffer)
        let rowStride = CVPixelBufferGetBytesPerRow(pixelBuffer)
        return .frame(
            pixels: Data(bytes: base, count: rowStride * height),
            width: Int32(CVPixelBufferGetWidth(pixelBuffer)),
            height: Int32(height),
            rowStride: Int32(rowStride),
            format: .bgra8)
    }

    /// Any `CGImage` (a rendered view, an image already decoded), drawn over white into
    /// RGBA, as the core composites transparent images. With `minSide`, drawn reduced so
    /// its short side is `minSide` (never enlarged): the core does the final resize, and
    /// a large image then costs a small copy. For encoded photos, `photo(data:)` decodes
    /// straight to the reduced size instead.
    public static func frame(from image: CGImage, minSide: Int? = nil) throws -> ImageSource {
        var width = image.width, height = image.height
        if let minSide {
            try checkMinSide(minSide)
            (width, height) = reducedSize(width: width, height: height, minSide: minSide)
        }
        let rowStride = width * 4
        var pixels = Data(count: rowStride * height)
        let drawn = pixels.withUnsafeMutableBytes { buffer -> Bool in
            guard
                let context = CGContext(
                    data: buffer.baseAddress, width: width, height: height, bitsPerComponent: 8,
                    bytesPerRow: rowStride, space: CGColorSpaceCreateDeviceRGB(),
                    bitmapInfo: CGImageAlphaInfo.premultipliedLast.rawValue)
            else { return false }
            let bounds = CGRect(x: 0, y: 0, width: width, height: height)
            context.setFillColor(CGColor(red: 1, green: 1, blue: 1, alpha: 1))
            context.fill(bounds)
            context.interpolationQuality = .high  // when reduced: CoreGraphics' smoothest scaling
            context.draw(image, in: bounds)
            return true
        }
        guard drawn else {
            throw LightCapError.InvalidFrame(message: "cannot draw a \(width)x\(height) CGImage into RGBA")
        }
        return .frame(
            pixels: pixels, width: Int32(width), height: Int32(height), rowStride: Int32(rowStride), format: .rgba8)
    }
}
