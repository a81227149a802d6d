// Photos as LightCap image sources. The platform decodes (ImageIO reads HEIC, an iPhone's
// default, which the core does not), upright and already reduced; the core centre-crops
// and does the last, antialiased resize to the pack's input size.

import CoreGraphics
import Foundation
import ImageIO

#if canImport(UIKit)
import UIKit
#endif

extension ImageSource {
    /// The short side photos are reduced to: twice the bundled pack's 224-pixel input,
    /// leaving the final resize to the core, which antialiases it.
    public static let photoMinSide = 448

    /// Photos with more pixels are refused before decoding: the core's default
    /// `CaptionOptions.maxImagePixels` (64 MP).
    public static let photoMaxPixels = Int(CaptionOptions().maxImagePixels)

    /// An encoded photo file (HEIC, JPEG, PNG, ... whatever ImageIO reads), decoded upright
    /// (EXIF orientation applied) straight to a size whose short side is at least `minSide`
    /// (never enlarged), not at full size first (a 48 MP photo: 190 MB of RGBA).
    public static func photo(
        at url: URL,
        minSide: Int = ImageSource.photoMinSide,
        maxPixels: Int = ImageSource.photoMaxPixels
    ) throws -> ImageSource {
        try checkLimits(minSide: minSide, maxPixels: maxPixels)
        guard url.isFileURL else {
            throw LightCapError.Io(message: "\(url.absoluteString) is not a file URL")
        }
        guard (try? url.checkResourceIsReachable()) == true else {
            throw LightCapError.Io(message: "no file at \(url.path)")
        }
        let values: URLResourceValues
        do {
            values = try url.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey])
        } catch {
            throw LightCapError.Io(message: "cannot read \(url.path): \(error.localizedDescription)")
        }
        guard values.isRegularFile == true else {
            throw LightCapError.Io(message: "\(url.path) is not a file")
        }
        guard values.fileSize != 0 else {
            throw LightCapError.EmptyImage(message: "\(url.path) is empty (0 bytes)")
        }
        guard FileManager.default.isReadableFile(atPath: url.path),
            let source = CGImageSourceCreateWithURL(url as CFURL, sourceOptions())
        else {
            throw LightCapError.Io(message: "cannot open \(url.path) for reading")
        }
        return try reduced(source, what: url.lastPathComponent, minSide: minSide, maxPixels: maxPixels)
    }

    /// `photo(at:)` for bytes in memory, such as a `PhotosPickerItem`'s `Data`.
    public static func photo(
        data: Data,
        minSide: Int = ImageSource.photoMinSide,
        maxPixels: Int = ImageSource.photoMaxPixels
    ) throws -> ImageSource {
        try checkLimits(minSide: minSide, maxPixels: maxPixels)
        guard !data.isEmpty else {
            throw LightCapError.EmptyImage(message: "the photo data is empty (0 bytes)")
        }
        guard let source = CGImageSourceCreateWithData(data as CFData, sourceOptions()) else {
            throw LightCapError.UnsupportedImageFormat(
                message: "ImageIO cannot read these \(data.count) bytes as an image")
        }
        return try reduced(source, what: "the photo data (\(data.count) bytes)", minSide: minSide, maxPixels: maxPixels)
    }

    /// `width` x `height` scaled so the short side is `minSide`, the other rounded up so
    /// that no side falls short; unchanged when the short side is no longer than `minSide`.
    static func reducedSize(width: Int, height: Int, minSide: Int) -> (width: Int, height: Int) {
        let short = min(width, height)
        guard minSide > 0, short > minSide else { return (width, height) }
        return ((width * minSide + short - 1) / short, (height * minSide + short - 1) / short)
    }

    static func checkMinSide(_ minSide: Int) throws {
        guard minSide > 0 else {
            throw LightCapError.InvalidOption(message: "minSide must be at least 1, not \(minSide)")
        }
    }

    private static func checkLimits(minSide: Int, maxPixels: Int) throws {
        try checkMinSide(minSide)
        guard maxPixels > 0 else {
            throw LightCapError.InvalidOption(message: "maxPixels must be at least 1, not \(maxPixels)")
        }
    }

    /// ImageIO keeps no decoded copy: the thumbnail below is the only one.
    private static func sourceOptions() -> CFDictionary {
        [kCGImageSourceShouldCache: false] as CFDictionary
    }

    /// The size check from the header, then one decode at the reduced size.
    private static func reduced(_ source: CGImageSource, what: String, minSide: Int, maxPixels: Int) throws -> ImageSource {
        guard let type = CGImageSourceGetType(source) else {
            throw LightCapError.UnsupportedImageFormat(message: "\(what) is not an image format ImageIO reads")
        }
        guard CGImageSourceGetCount(source) > 0,
            let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any],
            let width = properties[kCGImagePropertyPixelWidth] as? Int,
            let height = properties[kCGImagePropertyPixelHeight] as? Int,
            width > 0, height > 0
        else {
            throw LightCapError.ImageDecode(message: "\(what) (\(type)) gives no pixel size: truncated or damaged")
        }
        guard width * height <= maxPixels else {
            throw LightCapError.ImageTooLarge(
                message: "\(what) is \(width)x\(height), more than \(maxPixels) pixels")
        }
        switch CGImageSourceGetStatusAtIndex(source, 0) {
        case .statusIncomplete, .statusInvalidData, .statusUnexpectedEOF:
            throw LightCapError.ImageDecode(message: "\(what) (\(type), \(width)x\(height)) is truncated or damaged")
        default:
            break
        }
        // The longer side's length at which the short side comes out at least minSide;
        // the image's own when it is no larger (the thumbnail is then the full image).
        let reduced = reducedSize(width: width, height: height, minSide: minSide)
        let options =
            [
                kCGImageSourceCreateThumbnailFromImageAlways: true,  // not a small embedded preview
                kCGImageSourceCreateThumbnailWithTransform: true,  // EXIF orientation applied
                kCGImageSourceShouldCacheImmediately: true,
                kCGImageSourceThumbnailMaxPixelSize: max(reduced.width, reduced.height),
            ] as [CFString: Any] as CFDictionary
        guard let image = CGImageSourceCreateThumbnailAtIndex(source, 0, options) else {
            throw LightCapError.ImageDecode(
                message: "\(what) (\(type), \(width)x\(height)): ImageIO cannot decode its pixels")
        }
        return try frame(from: image)
    }
}

#if canImport(UIKit)
extension ImageSource {
    /// A `UIImage`, drawn upright (its `imageOrientation` applied) over white, at a size
    /// whose short side is at least `minSide` (never enlarged).
    public static func photo(_ image: UIImage, minSide: Int = ImageSource.photoMinSide) throws -> ImageSource {
        try checkMinSide(minSide)
        // `size` is in points and already oriented; the pixels are `scale` times as many.
        let width = Int((image.size.width * image.scale).rounded())
        let height = Int((image.size.height * image.scale).rounded())
        guard width > 0, height > 0 else {
            throw LightCapError.EmptyImage(message: "the UIImage is empty (\(width)x\(height) pixels)")
        }
        let size = reducedSize(width: width, height: height, minSide: minSide)
        let format = UIGraphicsImageRendererFormat()
        format.scale = 1
        format.opaque = true
        format.preferredRange = .standard  // 8 bits a channel: what the core reads anyway
        let bounds = CGRect(x: 0, y: 0, width: size.width, height: size.height)
        let drawn = UIGraphicsImageRenderer(bounds: bounds, format: format).image { context in
            UIColor.white.setFill()
            context.fill(bounds)
            image.draw(in: bounds)
        }
        guard let pixels = drawn.cgImage else {
            throw LightCapError.ImageDecode(message: "the UIImage could not be drawn at \(size.width)x\(size.height)")
        }
        return try frame(from: pixels)
    }
}
#endif
